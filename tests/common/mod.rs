//! A real server on a thread, bound to a loopback port, and clients that talk to it: the
//! game's own windowless client app, and a raw socket peer for sending hostile bytes.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use bevy::prelude::*;
use catchmind::app::{HostedServer, ServerOptions, headless_client_app};
use catchmind::codec;
use catchmind::plugins::canvas::{CanvasState, CanvasToClient, DrawInput};
use catchmind::plugins::chat::{ChatEntry, ChatLog, ChatToServer};
use catchmind::plugins::net::{
    ClientState, ConnectRequested, ConnectionEnded, FromServer, LeaveRequested, NetServer, ToServer,
};
use catchmind::plugins::rooms::Roster;
use catchmind::protocol::{ClientMsg, Hello, PROTOCOL_VERSION, ServerMsg};

pub fn start_server(options: ServerOptions) -> HostedServer {
    let listener = NetServer::bind("127.0.0.1:0").expect("bind loopback");
    HostedServer::spawn(listener, options).expect("start server")
}

pub fn hello(name: &str, room: Option<&str>) -> Hello {
    Hello {
        version: PROTOCOL_VERSION,
        name: name.into(),
        room: room.map(Into::into),
        host_token: None,
    }
}

/// The game's client without a window, stepped by the test.
pub struct Client {
    pub app: App,
    pub name: String,
    ended: Vec<String>,
    ended_cursor: bevy::ecs::message::MessageCursor<ConnectionEnded>,
    /// Every canvas message this client received, in order.
    pub canvas_received: Vec<CanvasToClient>,
    canvas_cursor: bevy::ecs::message::MessageCursor<FromServer<CanvasToClient>>,
}

impl Client {
    pub fn connect(addr: SocketAddr, name: &str, room: Option<&str>) -> Self {
        Self::connect_hello(addr, hello(name, room))
    }

    pub fn connect_hello(addr: SocketAddr, hello: Hello) -> Self {
        let mut app = headless_client_app();
        let name = hello.name.clone();
        app.world_mut().write_message(ConnectRequested {
            addr: addr.to_string(),
            hello,
        });
        Self {
            app,
            name,
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
        let messages = self.app.world().resource::<Messages<ConnectionEnded>>();
        for ConnectionEnded(e) in self.ended_cursor.read(messages) {
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
            .all(|c| c.state() == ClientState::Connected && c.roster().players.len() == n)
    });
}

/// A raw TCP peer speaking the frame format by hand.
pub struct RawPeer {
    pub stream: TcpStream,
}

impl RawPeer {
    pub fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        stream.set_nodelay(true).unwrap();
        Self { stream }
    }

    /// Connects with a tiny receive buffer, for a peer that will stop reading.
    pub fn connect_small_buffer(addr: SocketAddr) -> Self {
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        socket.connect(&addr.into()).unwrap();
        let stream: TcpStream = socket.into();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
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
        self.send_frame(&codec::encode(msg).unwrap());
    }

    pub fn hello(&mut self, name: &str) {
        self.send(&ClientMsg::Hello(hello(name, None)));
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
            let msg: ServerMsg = codec::decode(&payload).expect("server frames decode");
            if msg != ServerMsg::Ping {
                return Some(msg);
            }
        }
    }

    /// Reads until the server closes the connection; returns the `Closing` reason if sent.
    pub fn closing_reason(&mut self) -> Option<catchmind::protocol::CloseReason> {
        let mut reason = None;
        while let Some(msg) = self.recv() {
            if let ServerMsg::Closing(r) = msg {
                reason = Some(r);
            }
        }
        reason
    }
}
