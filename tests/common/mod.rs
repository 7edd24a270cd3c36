//! A real server on a thread, bound to a loopback port, and clients that talk to it: the
//! game's own windowless client app, and a raw socket peer for sending hostile bytes.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use bevy::prelude::*;
use std::sync::OnceLock;

use catchmind::app::{HostedServer, ServerOptions, headless_client_app};
use catchmind::codec;
use catchmind::plugins::canvas::{CanvasState, CanvasToClient, CanvasToServer, DrawInput};
use catchmind::plugins::chat::{ChatEntry, ChatLog, ChatToClient, ChatToServer};
use catchmind::plugins::net::wire::{ClientControl, FIRST_TAG, ServerControl};
use catchmind::plugins::net::{
    ClientState, CloseReason, FromServer, LeaveRequested, NetServer, PROTOCOL_VERSION, ToServer, WireMessage,
    WireRegistry,
};
use catchmind::plugins::quiz::{QuizToClient, QuizToServer};
use catchmind::plugins::rooms::{
    JoinRequest, JoinServer, ListRooms, ModerationRefusal, ModerationRequest, Rejection, RoleReply,
    RoleRequest, RoomList, RoomUpdate, Roster, SessionEnded, Welcome,
};

pub fn start_server(options: ServerOptions) -> HostedServer {
    let listener = NetServer::bind("127.0.0.1:0").expect("bind loopback");
    HostedServer::spawn(listener, options).expect("start server")
}

/// A server for tests that flood a peer: `net` with lenient frame rates and a lenient chat
/// limit, so only the limit under test acts; a dropped peer's seat is not held, so its drop is
/// announced at once.
pub fn start_lenient_server(net: catchmind::plugins::net::NetConfig) -> HostedServer {
    start_server(ServerOptions {
        net: catchmind::plugins::net::NetConfig {
            frames_per_second: 100_000.0,
            frame_burst: 100_000.0,
            ..net
        },
        chat: catchmind::plugins::chat::ChatConfig {
            burst: 10_000,
            window: Duration::from_secs(1),
        },
        rooms: catchmind::plugins::rooms::RoomConfig {
            seat_hold: Duration::ZERO,
            ..Default::default()
        },
        ..ServerOptions::default()
    })
}

pub fn hello(name: &str, room: Option<&str>) -> JoinRequest {
    JoinRequest::new(name, room)
}

/// The tags and fingerprint of this build's registered wire types, for raw peers.
pub struct Tags {
    pub fingerprint: u64,
    tags: std::collections::HashMap<&'static str, u32>,
}

impl Tags {
    pub fn get() -> &'static Tags {
        static TAGS: OnceLock<Tags> = OnceLock::new();
        TAGS.get_or_init(|| {
            let app = headless_client_app();
            let registry = app.world().resource::<WireRegistry>();
            let mut next = std::collections::HashMap::new();
            let tags = registry
                .types()
                .into_iter()
                .map(|(direction, name, _)| {
                    let n = next.entry(direction).or_insert(FIRST_TAG);
                    *n += 1;
                    (name, *n - 1)
                })
                .collect();
            let tags = Tags {
                fingerprint: registry.fingerprint(),
                tags,
            };
            assert_eq!(
                Some(tags.tags["chat.to_client"]),
                registry.tag_of::<ChatToClient>(),
                "tags follow registration order"
            );
            tags
        })
    }
}

/// The tag a registered type travels under.
pub fn tag<T: WireMessage>() -> u32 {
    Tags::get().tags[T::NAME]
}

/// What a client sends, as a raw peer writes it.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientMsg {
    Control(ClientControl),
    Join(JoinRequest),
    Chat(ChatToServer),
    Canvas(CanvasToServer),
    Quiz(QuizToServer),
    Moderation(ModerationRequest),
    ListRooms,
    Role(RoleRequest),
}

impl ClientMsg {
    /// The network handshake of this build.
    pub fn hello() -> Self {
        ClientMsg::Control(ClientControl::Hello {
            version: PROTOCOL_VERSION,
            fingerprint: Tags::get().fingerprint,
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        fn tagged<T: WireMessage>(msg: &T) -> Vec<u8> {
            codec::encode(&(tag::<T>(), msg)).unwrap()
        }
        match self {
            ClientMsg::Control(control) => codec::encode(control).unwrap(),
            ClientMsg::Join(msg) => tagged(msg),
            ClientMsg::Chat(msg) => tagged(msg),
            ClientMsg::Canvas(msg) => tagged(msg),
            ClientMsg::Quiz(msg) => tagged(msg),
            ClientMsg::Moderation(msg) => tagged(msg),
            ClientMsg::ListRooms => tagged(&ListRooms),
            ClientMsg::Role(msg) => tagged(msg),
        }
    }
}

/// What the server sends, as a raw peer reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerMsg {
    Control(ServerControl),
    Welcome(Welcome),
    Rejected(Rejection),
    Room(RoomUpdate),
    Chat(ChatToClient),
    Canvas(CanvasToClient),
    Quiz(QuizToClient),
    Moderation(ModerationRefusal),
    Rooms(RoomList),
    Role(RoleReply),
}

impl ServerMsg {
    pub const PING: ServerMsg = ServerMsg::Control(ServerControl::Ping);

    /// Decodes one frame's payload; panics on anything this build would not send.
    pub fn decode(payload: &[u8]) -> ServerMsg {
        let (found, used) = codec::decode_prefix::<u32>(payload).expect("a tag");
        if found < FIRST_TAG {
            return ServerMsg::Control(codec::decode(payload).expect("a control frame"));
        }
        let body = &payload[used..];
        fn de<T: WireMessage>(body: &[u8]) -> T {
            codec::decode(body).expect("server frames decode")
        }
        match found {
            t if t == tag::<Welcome>() => ServerMsg::Welcome(de(body)),
            t if t == tag::<Rejection>() => ServerMsg::Rejected(de(body)),
            t if t == tag::<RoomUpdate>() => ServerMsg::Room(de(body)),
            t if t == tag::<ChatToClient>() => ServerMsg::Chat(de(body)),
            t if t == tag::<CanvasToClient>() => ServerMsg::Canvas(de(body)),
            t if t == tag::<QuizToClient>() => ServerMsg::Quiz(de(body)),
            t if t == tag::<ModerationRefusal>() => ServerMsg::Moderation(de(body)),
            t if t == tag::<RoomList>() => ServerMsg::Rooms(de(body)),
            t if t == tag::<RoleReply>() => ServerMsg::Role(de(body)),
            other => panic!("unknown tag {other}"),
        }
    }
}

/// The game's client without a window, stepped by the test.
pub struct Client {
    pub app: App,
    pub name: String,
    ended: Vec<String>,
    ended_cursor: bevy::ecs::message::MessageCursor<SessionEnded>,
    /// Every canvas message this client received, in order.
    pub canvas_received: Vec<CanvasToClient>,
    canvas_cursor: bevy::ecs::message::MessageCursor<FromServer<CanvasToClient>>,
}

impl Client {
    pub fn connect(addr: SocketAddr, name: &str, room: Option<&str>) -> Self {
        Self::connect_hello(addr, hello(name, room))
    }

    pub fn connect_hello(addr: SocketAddr, join: JoinRequest) -> Self {
        let mut app = headless_client_app();
        let name = join.name.clone();
        app.world_mut().write_message(JoinServer {
            addr: addr.to_string(),
            join,
        });
        Self::from_app(app, &name)
    }

    /// A client app the test already set going.
    pub fn from_app(app: App, name: &str) -> Self {
        Self {
            app,
            name: name.into(),
            ended: Vec::new(),
            ended_cursor: Default::default(),
            canvas_received: Vec::new(),
            canvas_cursor: Default::default(),
        }
    }

    /// Uses `net` for this client's connection limits and heartbeat.
    pub fn with_net(mut self, net: catchmind::plugins::net::NetConfig) -> Self {
        self.app
            .insert_resource(catchmind::plugins::net::ClientNetConfig(net));
        self
    }

    pub fn step(&mut self) {
        self.app.update();
        let messages = self.app.world().resource::<Messages<SessionEnded>>();
        for e in self.ended_cursor.read(messages) {
            self.ended.push(e.to_string());
        }
        let messages = self
            .app
            .world()
            .resource::<Messages<FromServer<CanvasToClient>>>();
        for FromServer(msg) in self.canvas_cursor.read(messages) {
            self.canvas_received.push(msg.clone());
        }
    }

    pub fn state(&self) -> ClientState {
        *self.app.world().resource::<State<ClientState>>().get()
    }

    /// In a room (welcomed).
    pub fn joined(&self) -> bool {
        self.roster().me.is_some()
    }

    pub fn roster(&self) -> &Roster {
        self.app.world().resource::<Roster>()
    }

    pub fn say(&mut self, text: &str) {
        self.app
            .world_mut()
            .write_message(ToServer(ChatToServer::Say(text.into())));
    }

    pub fn draw(&mut self, input: DrawInput) {
        self.app.world_mut().write_message(input);
    }

    pub fn canvas(&self) -> &CanvasState {
        self.app.world().resource::<CanvasState>()
    }

    pub fn leave(&mut self) {
        self.app.world_mut().write_message(LeaveRequested);
    }

    pub fn log(&self) -> Vec<ChatEntry> {
        self.app
            .world()
            .resource::<ChatLog>()
            .entries
            .iter()
            .cloned()
            .collect()
    }

    /// Chat lines as "name: text", in the order shown.
    pub fn lines(&self) -> Vec<String> {
        self.log()
            .into_iter()
            .filter_map(|e| match e {
                ChatEntry::Line { name, text, .. } => Some(format!("{name}: {text}")),
                _ => None,
            })
            .collect()
    }

    pub fn notices(&self) -> Vec<String> {
        self.log()
            .into_iter()
            .filter_map(|e| match e {
                ChatEntry::Notice(t) | ChatEntry::Refused(t) => Some(t),
                _ => None,
            })
            .collect()
    }

    pub fn ended(&self) -> &[String] {
        &self.ended
    }
}

/// Steps every client until `done` holds, or panics with `what` after `limit`.
pub fn step_until(
    clients: &mut [&mut Client],
    limit: Duration,
    what: &str,
    mut done: impl FnMut(&[&mut Client]) -> bool,
) {
    let start = Instant::now();
    loop {
        for client in clients.iter_mut() {
            client.step();
        }
        if done(clients) {
            return;
        }
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for: {what}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Steps clients for a while (to see that nothing more arrives).
pub fn step_for(clients: &mut [&mut Client], time: Duration) {
    let start = Instant::now();
    while start.elapsed() < time {
        for client in clients.iter_mut() {
            client.step();
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Connects all clients and waits until each sees everyone.
pub fn join_all(clients: &mut [&mut Client]) {
    let n = clients.len();
    step_until(clients, Duration::from_secs(10), "everyone to join", |cs| {
        cs.iter()
            .all(|c| c.state() == ClientState::Connected && c.joined() && c.roster().players.len() == n)
    });
}

/// A raw TCP peer speaking the frame format by hand.
pub struct RawPeer {
    pub stream: TcpStream,
}

impl RawPeer {
    pub fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        stream.set_nodelay(true).unwrap();
        Self { stream }
    }

    /// Connects from another loopback address (127.0.0.x), as a different machine would.
    pub fn connect_from(addr: SocketAddr, source: [u8; 4]) -> Self {
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        socket
            .bind(&SocketAddr::from((source, 0)).into())
            .expect("bind a loopback source address");
        socket.connect(&addr.into()).unwrap();
        let stream: TcpStream = socket.into();
        stream.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        stream.set_nodelay(true).unwrap();
        Self { stream }
    }

    /// The handshake and a join to `room`; returns the welcome, or the rejection or close.
    pub fn join(&mut self, name: &str, room: Option<&str>) -> Result<Welcome, String> {
        self.send(&ClientMsg::hello());
        self.send(&ClientMsg::Join(hello(name, room)));
        while let Some(msg) = self.recv() {
            match msg {
                ServerMsg::Welcome(welcome) => return Ok(welcome),
                ServerMsg::Rejected(why) => return Err(why.to_string()),
                ServerMsg::Control(ServerControl::Closing(why)) => return Err(why.to_string()),
                _ => {}
            }
        }
        Err("closed without a word".into())
    }

    /// Joins with `join`: the welcome, or the room's typed refusal (closing without one panics).
    pub fn join_with(&mut self, join: JoinRequest) -> Result<Welcome, Rejection> {
        self.send(&ClientMsg::hello());
        self.send(&ClientMsg::Join(join));
        while let Some(msg) = self.recv() {
            match msg {
                ServerMsg::Welcome(welcome) => return Ok(welcome),
                ServerMsg::Rejected(why) => return Err(why),
                _ => {}
            }
        }
        panic!("closed without a welcome or a refusal");
    }

    /// Connects with a tiny receive buffer, for a peer that will stop reading.
    pub fn connect_small_buffer(addr: SocketAddr) -> Self {
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        socket.connect(&addr.into()).unwrap();
        let stream: TcpStream = socket.into();
        stream.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        Self { stream }
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes);
    }

    pub fn send_frame(&mut self, payload: &[u8]) {
        let mut bytes = (payload.len() as u32).to_be_bytes().to_vec();
        bytes.extend_from_slice(payload);
        self.send_raw(&bytes);
    }

    pub fn send(&mut self, msg: &ClientMsg) {
        self.send_frame(&msg.encode());
    }

    /// Says goodbye (as the game's client does when it leaves or its window closes).
    pub fn leave(mut self) {
        self.send(&ClientMsg::Control(ClientControl::Leave));
    }

    /// The network handshake, then a join.
    pub fn hello(&mut self, name: &str) {
        self.send(&ClientMsg::hello());
        self.send(&ClientMsg::Join(hello(name, None)));
    }

    /// The next message other than a ping, or `None` once the connection is closed.
    pub fn recv(&mut self) -> Option<ServerMsg> {
        loop {
            let mut header = [0u8; 4];
            self.stream.read_exact(&mut header).ok()?;
            let len = u32::from_be_bytes(header) as usize;
            assert!(len <= codec::MAX_FRAME_LEN, "server sent an oversize frame");
            let mut payload = vec![0u8; len];
            self.stream.read_exact(&mut payload).ok()?;
            let msg = ServerMsg::decode(&payload);
            if msg != ServerMsg::PING {
                return Some(msg);
            }
        }
    }

    /// The next message other than a ping if one comes within `wait`; `Err` once closed.
    pub fn recv_within(&mut self, wait: Duration) -> Result<Option<ServerMsg>, ()> {
        let deadline = Instant::now() + wait;
        let result = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break Ok(None);
            }
            self.stream.set_read_timeout(Some(left)).unwrap();
            let mut header = [0u8; 4];
            match self.stream.peek(&mut header) {
                Ok(0) => break Err(()),
                Ok(n) if n < 4 => {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                }
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    break Ok(None);
                }
                Err(_) => break Err(()),
            }
            self.stream
                .set_read_timeout(Some(Duration::from_secs(15)))
                .unwrap();
            let mut header = [0u8; 4];
            if self.stream.read_exact(&mut header).is_err() {
                break Err(());
            }
            let len = u32::from_be_bytes(header) as usize;
            assert!(len <= codec::MAX_FRAME_LEN, "server sent an oversize frame");
            let mut payload = vec![0u8; len];
            if self.stream.read_exact(&mut payload).is_err() {
                break Err(());
            }
            let msg = ServerMsg::decode(&payload);
            if msg != ServerMsg::PING {
                break Ok(Some(msg));
            }
        };
        self.stream
            .set_read_timeout(Some(Duration::from_secs(15)))
            .unwrap();
        result
    }

    /// Reads until the server closes the connection; returns the `Closing` reason if sent.
    pub fn closing_reason(&mut self) -> Option<CloseReason> {
        let mut reason = None;
        while let Some(msg) = self.recv() {
            if let ServerMsg::Control(ServerControl::Closing(r)) = msg {
                reason = Some(r);
            }
        }
        reason
    }
}

/// A loopback TCP relay in front of a server whose connections the test can cut, as a Wi-Fi
/// blink or a NAT's reset would: both ends see the socket close without a goodbye.
pub struct CuttableLink {
    pub addr: SocketAddr,
    live: std::sync::Arc<std::sync::Mutex<Vec<TcpStream>>>,
}

impl CuttableLink {
    pub fn to(server: SocketAddr) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the relay");
        let addr = listener.local_addr().unwrap();
        let live = std::sync::Arc::new(std::sync::Mutex::new(Vec::<TcpStream>::new()));
        let streams = live.clone();
        std::thread::spawn(move || {
            for downstream in listener.incoming().flatten() {
                let Ok(upstream) = TcpStream::connect(server) else {
                    continue;
                };
                let _ = (downstream.set_nodelay(true), upstream.set_nodelay(true));
                for (from, to) in [(&downstream, &upstream), (&upstream, &downstream)] {
                    let (mut from, mut to) = (from.try_clone().unwrap(), to.try_clone().unwrap());
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
                streams.lock().unwrap().extend([downstream, upstream]);
            }
        });
        Self { addr, live }
    }

    /// Cuts every connection through the relay (new ones still go through).
    pub fn cut(&self) {
        for stream in self.live.lock().unwrap().drain(..) {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }
}

/// The game's server as a child process, killed when dropped.
pub struct ChildServer(pub std::process::Child);

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the game's server as a child under `limits` (a shell `ulimit` line) with `env`. Its
/// stderr is dropped unless `SERVER_LOG` is set (then it is the test's).
pub fn child_server(limits: &str, env: &[(&str, &str)], args: &str) -> (ChildServer, std::net::SocketAddr) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{limits} && exec \"$0\" --server --headless --bind 127.0.0.1:{port} {args}"
        ))
        .arg(env!("CARGO_BIN_EXE_game"))
        .envs(env.iter().copied())
        .stderr(match std::env::var_os("SERVER_LOG") {
            Some(_) => std::process::Stdio::inherit(),
            None => std::process::Stdio::null(),
        })
        .spawn()
        .expect("start the server");
    let child = ChildServer(child);
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    (child, addr)
}

/// A port free on loopback now (for a child server's second listener).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET path` over HTTP/1.1 from `addr`: the status code and the body.
pub fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect to the admin endpoint");
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("a whole response");
    let (head, body) = response.split_once("\r\n\r\n").expect("a head and a body");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status code");
    (status, body.to_string())
}
