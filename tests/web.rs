//! The browser's way in, over loopback: a WebSocket peer on the game's one port plays with a
//! native one, is held to the same limits, and the port serves the page and nothing else.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use catchmind::app::ServerOptions;
use catchmind::plugins::chat::{ChatToClient, ChatToServer};
use catchmind::plugins::net::wire::{ClientControl, ServerControl};
use catchmind::plugins::net::{CloseReason, NetConfig, Refusal, Violation};
use catchmind::plugins::rooms::Welcome;
use common::{ClientMsg, RawPeer, ServerMsg, hello, start_server};
use tokio_tungstenite::tungstenite::{self, Message, WebSocket};

/// A browser's connection, speaking the game's frames one per binary message.
struct WsPeer {
    socket: WebSocket<TcpStream>,
}

impl WsPeer {
    fn connect(addr: SocketAddr) -> Self {
        Self::connect_from(addr, [127, 0, 0, 1])
    }

    /// From another loopback address, as another machine would.
    fn connect_from(addr: SocketAddr, source: [u8; 4]) -> Self {
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        socket.bind(&SocketAddr::from((source, 0)).into()).unwrap();
        socket.connect(&addr.into()).unwrap();
        let stream: TcpStream = socket.into();
        stream.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        let url = format!("ws://{addr}/ws");
        let (socket, response) = tungstenite::client(url, stream).expect("the upgrade");
        assert_eq!(response.status(), 101);
        Self { socket }
    }

    fn send(&mut self, msg: &ClientMsg) {
        self.send_payload(msg.encode());
    }

    fn send_payload(&mut self, payload: Vec<u8>) {
        let _ = self.socket.send(Message::Binary(payload.into()));
    }

    /// The next message other than a ping; `None` once closed.
    fn recv(&mut self) -> Option<ServerMsg> {
        loop {
            match self.socket.read() {
                Ok(Message::Binary(payload)) => match ServerMsg::decode(&payload) {
                    ServerMsg::PING => continue,
                    msg => return Some(msg),
                },
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }

    fn join(&mut self, name: &str, room: Option<&str>) -> Welcome {
        self.send(&ClientMsg::hello());
        self.send(&ClientMsg::Join(hello(name, room)));
        while let Some(msg) = self.recv() {
            if let ServerMsg::Welcome(welcome) = msg {
                return welcome;
            }
        }
        panic!("closed before the welcome");
    }

    /// Why the server closed the connection (its last frame).
    fn closing_reason(&mut self) -> Option<CloseReason> {
        let mut last = None;
        while let Some(msg) = self.recv() {
            if let ServerMsg::Control(ServerControl::Closing(why)) = msg {
                last = Some(why);
            }
        }
        last
    }
}

fn chat_line(msg: &ServerMsg) -> Option<String> {
    match msg {
        ServerMsg::Chat(ChatToClient::Line(line)) => Some(format!("{}: {}", line.name, line.text)),
        _ => None,
    }
}

#[test]
fn a_browser_peer_plays_with_a_native_one_on_the_same_port() {
    let server = start_server(ServerOptions::default());
    let mut native = RawPeer::connect(server.addr);
    native.join("Ann", Some("den")).unwrap();
    let mut browser = WsPeer::connect(server.addr);
    let welcome = browser.join("민수", Some("den"));
    assert_eq!(welcome.players.len(), 2);

    browser.send(&ClientMsg::Chat(ChatToServer::Say("안녕하세요".into())));
    let heard = std::iter::from_fn(|| native.recv()).find_map(|m| chat_line(&m));
    assert_eq!(heard.as_deref(), Some("민수: 안녕하세요"));
    native.send(&ClientMsg::Chat(ChatToServer::Say("hi from TCP".into())));
    let heard = std::iter::from_fn(|| browser.recv())
        .filter_map(|m| chat_line(&m))
        .find(|line| line.starts_with("Ann:"));
    assert_eq!(heard.as_deref(), Some("Ann: hi from TCP"));

    // A goodbye over the WebSocket is a leave, as over TCP.
    browser.send(&ClientMsg::Control(ClientControl::Leave));
    let left = std::iter::from_fn(|| native.recv()).find_map(|m| match m {
        ServerMsg::Room(catchmind::plugins::rooms::RoomUpdate::Left { name, reason, .. }) => {
            Some((name, reason))
        }
        _ => None,
    });
    assert_eq!(
        left,
        Some(("민수".into(), catchmind::plugins::net::LeaveReason::Left))
    );
}

#[test]
fn a_websocket_peer_is_held_to_the_frame_cap_and_the_frame_rate() {
    let server = start_server(ServerOptions::default());
    let mut big = WsPeer::connect(server.addr);
    big.send(&ClientMsg::hello());
    big.send_payload(vec![7; 70_000]);
    assert_eq!(
        big.closing_reason(),
        Some(CloseReason::ProtocolViolation(Violation::frame_too_large()))
    );

    let mut flood = WsPeer::connect(server.addr);
    flood.send(&ClientMsg::hello());
    for _ in 0..400 {
        flood.send(&ClientMsg::Control(ClientControl::Ping));
    }
    assert_eq!(flood.closing_reason(), Some(CloseReason::Flooding));

    // The WebSocket's own pings count too: they are answered, so they cost the server.
    let mut pinger = WsPeer::connect(server.addr);
    pinger.send(&ClientMsg::hello());
    for _ in 0..400 {
        let _ = pinger.socket.send(Message::Ping(vec![1; 100].into()));
    }
    assert_eq!(pinger.closing_reason(), Some(CloseReason::Flooding));

    // Text is not the game's.
    let mut text = WsPeer::connect(server.addr);
    let _ = text.socket.send(Message::Text("hello".into()));
    assert_eq!(
        text.closing_reason(),
        Some(CloseReason::ProtocolViolation(Violation::Undecodable))
    );
}

#[test]
fn websocket_and_native_peers_share_their_addresses_limit_and_a_refused_browser_is_told_why() {
    let server = start_server(ServerOptions::default());
    let limit = NetConfig::default().per_address.connections;
    let source = [127, 0, 0, 7];
    let mut open: Vec<WsPeer> = Vec::new();
    let mut native: Vec<RawPeer> = Vec::new();
    for i in 0..limit {
        if i % 2 == 0 {
            let mut peer = WsPeer::connect_from(server.addr, source);
            peer.send(&ClientMsg::hello());
            open.push(peer);
        } else {
            let mut peer = RawPeer::connect_from(server.addr, source);
            peer.send(&ClientMsg::hello());
            native.push(peer);
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    let mut one_more = WsPeer::connect_from(server.addr, source);
    assert_eq!(
        one_more.closing_reason(),
        Some(CloseReason::Refused(Refusal::TooManyFromAddress))
    );
    // Another address is not affected.
    WsPeer::connect_from(server.addr, [127, 0, 0, 8]).join("Other", None);
}

/// Sends `request` as it is and reads the whole answer.
fn http(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let _ = stream.write_all(request);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

fn status(answer: &str) -> u16 {
    answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("an HTTP answer: {answer:?}"))
}

#[test]
fn the_port_serves_the_page_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("index.html"),
        "<!doctype html><title>Catch Mind</title>",
    )
    .unwrap();
    std::fs::write(dir.path().join("game.wasm"), [0, 97, 115, 109, 1, 0, 0, 0]).unwrap();
    let server = start_server(ServerOptions {
        net: NetConfig {
            web_root: Some(dir.path().to_owned()),
            ..NetConfig::default()
        },
        ..ServerOptions::default()
    });
    let page = http(server.addr, b"GET /?room=den HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status(&page), 200, "{page}");
    assert!(page.contains("Content-Security-Policy:") && page.ends_with("<title>Catch Mind</title>"));
    let wasm = http(server.addr, b"GET /game.wasm HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(wasm.contains("Content-Type: application/wasm"), "{wasm}");
    for request in [
        &b"GET /../Cargo.toml HTTP/1.1\r\n\r\n"[..],
        b"GET /..%2f..%2fetc%2fpasswd HTTP/1.1\r\n\r\n",
        b"GET /etc/passwd HTTP/1.1\r\n\r\n",
        b"GET http://evil/ HTTP/1.1\r\n\r\n",
    ] {
        let answer = http(server.addr, request);
        assert_eq!(status(&answer), 404, "{}", String::from_utf8_lossy(request));
    }
    assert_eq!(
        status(&http(
            server.addr,
            b"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n"
        )),
        405
    );
    assert_eq!(status(&http(server.addr, b"GET / HTTP/1.1\r\n\0\0\r\n\r\n")), 400);
    let mut huge = b"GET / HTTP/1.1\r\nX-Pad: ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 10_000));
    huge.extend(b"\r\n\r\n");
    assert_eq!(status(&http(server.addr, &huge)), 431);

    // The game goes on meanwhile, on the same port.
    RawPeer::connect(server.addr).join("Ann", None).unwrap();
}

#[test]
fn without_a_page_the_port_says_how_to_play_instead() {
    let server = start_server(ServerOptions::default());
    let answer = http(server.addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status(&answer), 503);
    assert!(answer.contains("game --client"), "{answer}");
    assert!(answer.contains("scripts/web"), "{answer}");
}

/// The handshake's time counts from the connection's start, whatever the first byte took: a
/// peer that sends one byte late and nothing more is closed when the handshake time is up, not
/// a whole handshake time after its first byte (it held its place twice as long).
#[test]
fn the_handshake_time_counts_from_the_start_whatever_the_first_byte_took() {
    let server = start_server(ServerOptions {
        net: NetConfig {
            handshake_timeout: Duration::from_secs(1),
            ..NetConfig::default()
        },
        ..ServerOptions::default()
    });
    let started = std::time::Instant::now();
    let mut peer = RawPeer::connect(server.addr);
    std::thread::sleep(Duration::from_millis(800));
    peer.send_raw(&[0]);
    assert_eq!(peer.closing_reason(), Some(CloseReason::TimedOut));
    let took = started.elapsed();
    assert!(took < Duration::from_millis(1_500), "closed after {took:?}");
}
