//! Hostile peers against a real server: each offender is disconnected with a reason while
//! the other players keep chatting.

mod common;

use std::time::{Duration, Instant};

use catchmind::app::ServerOptions;
use catchmind::codec::MAX_FRAME_LEN;
use catchmind::plugins::chat::ChatToClient;
use catchmind::plugins::chat::ChatToServer;
use catchmind::plugins::net::wire::ClientControl;
use catchmind::plugins::net::{ClientState, CloseReason, NetConfig, Violation};
use catchmind::plugins::rooms::RoomConfig;
use common::{Client, ClientMsg, RawPeer, join_all, start_server, step_for, step_until, tag};

const LIMIT: Duration = Duration::from_secs(10);

/// Two honest players chatting; returns them joined.
fn honest_pair(addr: std::net::SocketAddr) -> (Client, Client) {
    honest_pair_with(addr, NetConfig::default())
}

fn honest_pair_with(addr: std::net::SocketAddr, net: NetConfig) -> (Client, Client) {
    let mut a = Client::connect(addr, "Alice", None).with_net(net.clone());
    let mut b = Client::connect(addr, "Bob", None).with_net(net);
    join_all(&mut [&mut a, &mut b]);
    (a, b)
}

/// The honest players still chat after the attack, and heard about the offender leaving.
fn still_chatting(a: &mut Client, b: &mut Client, tag: &str) {
    a.say(&format!("still here after {tag}"));
    let expected = format!("Alice: still here after {tag}");
    step_until(&mut [a, b], LIMIT, "chat after the attack", |cs| {
        cs.iter().all(|c| c.lines().contains(&expected))
    });
    assert_eq!(a.state(), ClientState::Connected);
    assert_eq!(b.state(), ClientState::Connected);
}

fn violation(reason: Option<CloseReason>) -> Violation {
    match reason {
        Some(CloseReason::ProtocolViolation(why)) => why,
        other => panic!("expected a protocol violation, got {other:?}"),
    }
}

#[test]
fn framing_attacks_are_disconnected_with_a_reason() {
    let server = start_server(ServerOptions::default());
    let (mut a, mut b) = honest_pair(server.addr);

    // A header one byte over the cap, and the largest possible header.
    for len in [MAX_FRAME_LEN as u32 + 1, u32::MAX] {
        let mut peer = RawPeer::connect(server.addr);
        peer.send_raw(&len.to_be_bytes());
        assert_eq!(
            violation(peer.closing_reason()),
            Violation::frame_too_large(),
            "header {len}"
        );
    }
    // An empty frame, random bytes after a real chat tag, an unknown tag, and a length bomb
    // inside a small frame (a chat Say whose text claims u64::MAX bytes).
    let chat = tag::<catchmind::plugins::chat::ChatToServer>() as u8;
    let bomb = [chat, 0, 0xFD, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
    let mut random: Vec<u8> = vec![chat];
    random.extend((0..200u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8));
    let unknown = [200u8, 0];
    for (what, payload, why) in [
        ("empty", &[][..], Violation::Undecodable),
        ("random", &random[..], Violation::Undecodable),
        ("unknown", &unknown[..], Violation::UnknownTag(200)),
        ("bomb", &bomb[..], Violation::Undecodable),
    ] {
        let mut peer = RawPeer::connect(server.addr);
        peer.hello(&format!("evil-{what}"));
        peer.send_frame(payload);
        assert_eq!(violation(peer.closing_reason()), why, "{what}");
    }
    // A message before the handshake (one with a body, and one without: the room list's
    // request), and a second handshake.
    for (what, msg) in [
        ("chat", ClientMsg::Chat(ChatToServer::Say("hi".into()))),
        ("list", ClientMsg::ListRooms),
    ] {
        let mut early = RawPeer::connect(server.addr);
        early.send(&msg);
        assert_eq!(
            violation(early.closing_reason()),
            Violation::ExpectedHandshake,
            "{what}"
        );
    }
    let mut twice = RawPeer::connect(server.addr);
    twice.hello("twice");
    twice.hello("twice");
    assert_eq!(violation(twice.closing_reason()), Violation::HandshakeTwice);

    // Everyone who got in was announced as disconnected to the honest players.
    step_until(&mut [&mut a, &mut b], LIMIT, "offenders' leave notices", |cs| {
        ["evil-empty", "evil-random", "evil-unknown", "evil-bomb", "twice"]
            .iter()
            .all(|name| {
                cs[0]
                    .notices()
                    .iter()
                    .any(|n| n.starts_with(&format!("{name} was disconnected: protocol violation")))
            })
    });
    still_chatting(&mut a, &mut b, "framing attacks");
}

#[test]
fn byte_by_byte_and_many_frames_in_one_write_are_both_fine() {
    let server = start_server(ServerOptions::default());
    let (mut a, mut b) = honest_pair(server.addr);
    let mut peer = RawPeer::connect(server.addr);
    let mut hello = Vec::new();
    for msg in [
        ClientMsg::hello(),
        ClientMsg::Join(common::hello("Slowpoke", None)),
    ] {
        let payload = msg.encode();
        hello.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        hello.extend_from_slice(&payload);
    }
    for byte in hello {
        peer.send_raw(&[byte]);
        std::thread::sleep(Duration::from_millis(2));
    }
    // Five chat messages glued into one write.
    let mut glued = Vec::new();
    for i in 0..5 {
        let payload = ClientMsg::Chat(ChatToServer::Say(format!("glued {i}"))).encode();
        glued.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        glued.extend_from_slice(&payload);
    }
    peer.send_raw(&glued);
    step_until(&mut [&mut a, &mut b], LIMIT, "glued lines", |cs| {
        cs[1]
            .lines()
            .iter()
            .filter(|l| l.starts_with("Slowpoke: glued"))
            .count()
            == 5
    });
    let glued_lines: Vec<String> = b
        .lines()
        .into_iter()
        .filter(|l| l.starts_with("Slowpoke"))
        .collect();
    assert_eq!(
        glued_lines,
        (0..5).map(|i| format!("Slowpoke: glued {i}")).collect::<Vec<_>>()
    );
    still_chatting(&mut a, &mut b, "glued frames");
}

#[test]
fn silent_peers_are_dropped_by_the_heartbeat() {
    let net = NetConfig {
        peer_timeout: Duration::from_millis(1500),
        handshake_timeout: Duration::from_millis(800),
        heartbeat_interval: Duration::from_millis(300),
        ..NetConfig::default()
    };
    let server = start_server(ServerOptions {
        net: net.clone(),
        // The timeout is announced at once, not after a held seat's minute.
        rooms: RoomConfig {
            seat_hold: Duration::ZERO,
            ..RoomConfig::default()
        },
        ..ServerOptions::default()
    });
    let (mut a, mut b) = honest_pair_with(server.addr, net);

    // A header and then nothing: dropped at the handshake deadline.
    let mut header_only = RawPeer::connect(server.addr);
    header_only.send_raw(&100u32.to_be_bytes());
    let started = Instant::now();
    assert_eq!(header_only.closing_reason(), Some(CloseReason::TimedOut));
    // At the deadline, not before; the upper bound only says it was not forgotten (a loaded
    // machine may be seconds late).
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(700) && waited < Duration::from_secs(10),
        "{waited:?}"
    );

    // Joined, then silent (no pings): dropped, and the others are told it timed out.
    let mut silent = RawPeer::connect(server.addr);
    silent.hello("Silent");
    let started = Instant::now();
    assert_eq!(silent.closing_reason(), Some(CloseReason::TimedOut));
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1400) && waited < Duration::from_secs(10),
        "{waited:?}"
    );
    step_until(&mut [&mut a, &mut b], LIMIT, "timeout notice", |cs| {
        cs[0].notices().iter().any(|n| n == "Silent timed out.")
    });

    // The honest clients ping, so they outlive several timeouts of silence on their part.
    step_for(&mut [&mut a, &mut b], Duration::from_millis(3500));
    still_chatting(&mut a, &mut b, "silence");
}

#[test]
fn a_client_that_stops_reading_is_dropped_and_the_others_get_everything_in_order() {
    // Small socket buffers and a short write stall so the stuck peer is found quickly, and a
    // lenient chat limit. The queue stays at its default: the honest players share it, and a
    // tiny one would drop them too whenever the machine stalls for a moment.
    let server = common::start_lenient_server(NetConfig {
        write_stall: Duration::from_secs(3),
        socket_send_buffer: Some(8 * 1024),
        ..NetConfig::default()
    });
    let (mut a, mut b) = honest_pair(server.addr);
    let mut stuck = RawPeer::connect_small_buffer(server.addr);
    stuck.hello("Stuck");
    step_until(&mut [&mut a, &mut b], LIMIT, "stuck joined", |cs| {
        cs.iter().all(|c| c.roster().players.len() == 3)
    });

    // ~400 KB of chat for the stuck peer not to read: far beyond its buffers and queue.
    let total = 456;
    let filler = "가".repeat(290);
    let started = Instant::now();
    let mut sent = 0;
    // 8 lines every 16 ms of this loop (about 500 a second, far busier than any room).
    while sent < total {
        for _ in 0..8 {
            a.say(&format!("{sent:05} {filler}"));
            sent += 1;
        }
        step_for(&mut [&mut a, &mut b], Duration::from_millis(16));
    }
    step_until(
        &mut [&mut a, &mut b],
        Duration::from_secs(40),
        "every line and the stuck peer dropped",
        |cs| {
            cs.iter().all(|c| c.lines().len() >= total)
                && cs[1]
                    .notices()
                    .iter()
                    .any(|n| n.starts_with("Stuck was disconnected: not reading fast enough"))
        },
    );
    let elapsed = started.elapsed();
    // The stuck peer goes after a 3 s write stall; the rest is slack for a loaded machine.
    assert!(elapsed < Duration::from_secs(30), "took {elapsed:?}");
    for client in [&a, &b] {
        let numbers: Vec<usize> = client
            .lines()
            .iter()
            .map(|l| l["Alice: ".len()..][..5].parse().unwrap())
            .collect();
        assert_eq!(
            numbers,
            (0..total).collect::<Vec<_>>(),
            "{} got every line in order",
            client.name
        );
    }
    still_chatting(&mut a, &mut b, "the stuck reader");
}

#[test]
fn a_flooding_client_is_disconnected() {
    let net = NetConfig {
        frames_per_second: 50.0,
        frame_burst: 100.0,
        ..NetConfig::default()
    };
    let server = start_server(ServerOptions {
        net,
        ..ServerOptions::default()
    });
    let (mut a, mut b) = honest_pair(server.addr);
    let mut flood = RawPeer::connect(server.addr);
    flood.hello("Flood");
    let payload = ClientMsg::Control(ClientControl::Ping).encode();
    let mut burst = Vec::new();
    for _ in 0..1000 {
        burst.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        burst.extend_from_slice(&payload);
    }
    flood.send_raw(&burst);
    assert_eq!(flood.closing_reason(), Some(CloseReason::Flooding));
    step_until(&mut [&mut a, &mut b], LIMIT, "flood notice", |cs| {
        cs[0]
            .notices()
            .iter()
            .any(|n| n == "Flood was disconnected: sending too many messages.")
    });
    still_chatting(&mut a, &mut b, "the flood");
}

/// A fake server that accepts one game client, reads its handshake and then sends `attack`.
fn hostile_server(attack: Vec<u8>) -> (std::net::SocketAddr, std::thread::JoinHandle<()>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let thread = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut header = [0u8; 4];
        stream.read_exact(&mut header).unwrap();
        let mut hello = vec![0u8; u32::from_be_bytes(header) as usize];
        stream.read_exact(&mut hello).unwrap();
        let _ = stream.write_all(&attack);
        std::thread::sleep(Duration::from_millis(500));
    });
    (addr, thread)
}

#[test]
fn the_client_applies_the_same_limits_to_a_hostile_server() {
    let frame = |payload: &[u8]| {
        let mut bytes = (payload.len() as u32).to_be_bytes().to_vec();
        bytes.extend_from_slice(payload);
        bytes
    };
    // The handshake's answer, then ChatToClient::History(vec of length u64::MAX).
    let ready = frame(&[2]);
    let chat = tag::<ChatToClient>() as u8;
    let bomb = [
        ready.clone(),
        frame(&[chat, 1, 0xFD, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
    ]
    .concat();
    let oversize = (MAX_FRAME_LEN as u32 + 1).to_be_bytes().to_vec();
    // Server pings (control tag 0).
    let pings: Vec<u8> = (0..10_000).flat_map(|_| frame(&[0])).collect();
    for (what, attack, expected) in [
        (
            "length bomb",
            bomb,
            "the server sent something invalid: undecodable message",
        ),
        (
            "oversize frame",
            oversize,
            "the server sent something invalid: protocol violation: frame larger than",
        ),
        (
            "ping flood",
            pings,
            "the server sent something invalid: too many messages, too fast",
        ),
    ] {
        let (addr, server) = hostile_server(attack);
        let mut client = Client::connect(addr, "Victim", None);
        step_until(&mut [&mut client], LIMIT, what, |cs| !cs[0].ended().is_empty());
        assert!(
            client.ended()[0].starts_with(expected),
            "{what}: {:?}",
            client.ended()
        );
        assert_eq!(client.state(), ClientState::Disconnected);
        server.join().unwrap();
    }
}

#[test]
fn a_connection_that_never_joins_or_joins_twice_is_closed() {
    let rooms = catchmind::plugins::rooms::RoomConfig {
        join_timeout: Duration::from_millis(800),
        ..Default::default()
    };
    let server = start_server(ServerOptions {
        rooms,
        ..ServerOptions::default()
    });
    let (mut a, mut b) = honest_pair(server.addr);

    // Through the network handshake, pinging, but never asking to join a room.
    let mut lurker = RawPeer::connect(server.addr);
    lurker.send(&ClientMsg::hello());
    let started = Instant::now();
    let pinger = lurker.stream.try_clone().unwrap();
    let pings = std::thread::spawn(move || {
        let mut pinger = RawPeer { stream: pinger };
        for _ in 0..10 {
            pinger.send(&ClientMsg::Control(ClientControl::Ping));
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    assert_eq!(lurker.closing_reason(), Some(CloseReason::TimedOut));
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(700) && waited < Duration::from_secs(10),
        "{waited:?}"
    );
    pings.join().unwrap();

    // A second join from a player already in a room breaks the protocol.
    let mut twice = RawPeer::connect(server.addr);
    twice.hello("Twice");
    twice.send(&ClientMsg::Join(common::hello("Again", None)));
    assert_eq!(violation(twice.closing_reason()), Violation::Unexpected);
    step_until(
        &mut [&mut a, &mut b],
        LIMIT,
        "the offender's leave notice",
        |cs| {
            cs[0]
                .notices()
                .iter()
                .any(|n| n == "Twice was disconnected: protocol violation: message not allowed now.")
        },
    );
    still_chatting(&mut a, &mut b, "lurkers");
}
