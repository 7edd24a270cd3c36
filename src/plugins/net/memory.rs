//! An in-memory network for the tests: a server app and client apps in one thread exchange
//! frames through the same encode and decode as over TCP (the registry's tags, the handshake
//! and its fingerprint, the byte-bounded send queues, the closing reasons), with no socket,
//! thread or sleep. What a socket adds (time-outs, rate limits, per-address limits) is tested
//! over loopback.
//!
//! A client app with a [`MemoryNet`] resource dials through it instead of TCP; a
//! [`MemoryServer`] answers the dials to its address and carries each connection's frames both
//! ways when the test calls [`MemoryServer::carry`].

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bevy::prelude::*;
use bytes::Bytes;
use crossbeam_channel::Sender;
use tokio::sync::mpsc::error::TryRecvError;

use super::client::StartTransport;
use super::connector::{ClientEvent, ConnectionError};
use super::frames::{self, OutboxReceivers};
use super::listener::ServerEvent;
use super::wire::{
    ClientControl, CloseReason, Decoder, Frame, LeaveReason, PROTOCOL_VERSION, ServerControl, Violation,
    decode_frame,
};
use super::{NetServer, WireRegistry};
use crate::id::ClientId;

/// The exchange the apps of one test dial through (cloned into each client app).
#[derive(Resource, Clone, Default)]
pub struct MemoryNet(Arc<Mutex<Switchboard>>);

#[derive(Default)]
struct Switchboard {
    listening: HashSet<String>,
    dials: Vec<Dial>,
}

/// A client's connection waiting for the server to take it.
struct Dial {
    addr: String,
    decoders: Arc<[Decoder]>,
    events: Sender<ClientEvent>,
    sent: OutboxReceivers,
}

impl MemoryNet {
    /// A transport that hands the connection to whoever listens on `addr`; nobody listening
    /// is a refused connection, as over TCP.
    pub(super) fn dial(&self, addr: String) -> StartTransport<'static> {
        let net = self.clone();
        Box::new(move |decoders, events, sent, _outbox| {
            let mut board = net.0.lock().expect("never poisoned");
            if board.listening.contains(&addr) {
                board.dials.push(Dial {
                    addr,
                    decoders,
                    events,
                    sent,
                });
            } else {
                let _ = events.send(ClientEvent::Ended(ConnectionError::Refused { addr }));
            }
            Ok(None)
        })
    }
}

/// One connection as the harness carries it.
struct Link {
    client: ClientId,
    /// Decoders of the server's messages (the client's registry).
    decoders: Arc<[Decoder]>,
    to_client: Sender<ClientEvent>,
    /// What the client queued.
    from_client: OutboxReceivers,
    /// What the server queued for it.
    from_server: OutboxReceivers,
}

/// The server's end of the in-memory network: a [`NetServer`] with no runtime, whose
/// connections' events it writes, as the tokio tasks do over TCP.
pub struct MemoryServer {
    net: MemoryNet,
    addr: String,
    events: Sender<ServerEvent>,
    fingerprint: u64,
    decoders: Vec<Decoder>,
    outbound_queue: usize,
    links: Vec<Link>,
    next_id: u32,
}

impl MemoryServer {
    /// A server listening on `addr` in `net`, serving the types in `registry`; insert the
    /// returned [`NetServer`] into the server app.
    pub fn listen(
        net: &MemoryNet,
        addr: &str,
        config: frames::NetConfig,
        registry: &WireRegistry,
    ) -> (Self, NetServer) {
        let local: SocketAddr = ([127, 0, 0, 1], 1234).into();
        let outbound_queue = config.outbound_queue;
        let (server, events) = NetServer::in_memory(config, registry, local);
        net.0
            .lock()
            .expect("never poisoned")
            .listening
            .insert(addr.into());
        let end = Self {
            net: net.clone(),
            addr: addr.into(),
            events,
            fingerprint: registry.fingerprint(),
            decoders: registry.to_server.iter().map(|r| r.decode).collect(),
            outbound_queue,
            links: Vec::new(),
            next_id: 1,
        };
        (end, server)
    }

    /// Takes the dials waiting, then carries every queued frame: the clients' to the server
    /// and the server's to the clients, closes included. Returns whether anything moved.
    pub fn carry(&mut self) -> bool {
        let dials = std::mem::take(&mut self.net.0.lock().expect("never poisoned").dials);
        let mut moved = !dials.is_empty();
        for dial in dials {
            self.accept(dial);
        }
        let mut links = std::mem::take(&mut self.links);
        links.retain_mut(|link| {
            let (up, open) = self.carry_up(link);
            moved |= up;
            if !open {
                return false;
            }
            let (down, open) = self.carry_down(link);
            moved |= down;
            open
        });
        self.links = links;
        moved
    }

    /// The connection of `client` is lost (no goodbye either way), as a cut cable is.
    pub fn cut(&mut self, client: ClientId) {
        let at = self.links.iter().position(|l| l.client == client);
        if let Some(link) = at.map(|i| self.links.remove(i)) {
            self.end(&link, LeaveReason::ConnectionLost, ConnectionError::Lost);
        }
    }

    /// Stops answering: every connection is lost and new dials are refused.
    pub fn unplug(&mut self) {
        self.net
            .0
            .lock()
            .expect("never poisoned")
            .listening
            .remove(&self.addr);
        for link in std::mem::take(&mut self.links) {
            self.end(&link, LeaveReason::ConnectionLost, ConnectionError::ServerGone);
        }
    }

    /// Listens again after [`MemoryServer::unplug`].
    pub fn plug_in(&mut self) {
        self.net
            .0
            .lock()
            .expect("never poisoned")
            .listening
            .insert(self.addr.clone());
    }

    /// The connections open now.
    pub fn clients(&self) -> Vec<ClientId> {
        self.links.iter().map(|l| l.client).collect()
    }

    fn accept(&mut self, dial: Dial) {
        let client = ClientId(self.next_id);
        self.next_id += 1;
        let (outbox, from_server) = frames::outbox(self.outbound_queue);
        let addr = ([127, 0, 0, 1], 40000 + client.0 as u16).into();
        let _ = self.events.send(ServerEvent::Accepted { client, addr, outbox });
        debug_assert_eq!(dial.addr, self.addr);
        self.links.push(Link {
            client,
            decoders: dial.decoders,
            to_client: dial.events,
            from_client: dial.sent,
            from_server,
        });
    }

    /// The client's frames to the server: (whether any moved, whether the connection is open).
    fn carry_up(&mut self, link: &mut Link) -> (bool, bool) {
        let mut moved = false;
        let gone = loop {
            match link.from_client.try_next() {
                Ok(frame) => {
                    moved = true;
                    if !self.take_from_client(link, &frame) {
                        return (true, false);
                    }
                }
                Err(TryRecvError::Empty) => break false,
                Err(TryRecvError::Disconnected) => break true,
            }
        };
        match link.from_client.closing() {
            // The client's last frame is its goodbye.
            Some(last) if !last.is_empty() && !self.take_from_client(link, &last) => (true, false),
            Some(_) => {
                self.end(link, LeaveReason::Left, ConnectionError::Left);
                (true, false)
            }
            None if gone => {
                self.end(link, LeaveReason::ConnectionLost, ConnectionError::Lost);
                (true, false)
            }
            None => (moved, true),
        }
    }

    /// One frame from a client, as the server's reader takes it; false if it ends the
    /// connection.
    fn take_from_client(&mut self, link: &Link, frame: &[u8]) -> bool {
        let client = link.client;
        match decode_frame::<ClientControl>(frame, &self.decoders) {
            Ok(Frame::Control(ClientControl::Hello { version, fingerprint })) => {
                assert!(
                    version == PROTOCOL_VERSION && fingerprint == self.fingerprint,
                    "the apps of an in-memory test register the same types"
                );
                let _ = self.events.send(ServerEvent::Ready { client });
                let _ = link.to_client.send(ClientEvent::Ready);
                true
            }
            Ok(Frame::Control(ClientControl::Ping)) => true,
            Ok(Frame::Control(ClientControl::Leave)) => {
                self.end(link, LeaveReason::Left, ConnectionError::Left);
                false
            }
            Ok(Frame::Message { tag, msg }) => {
                let _ = self.events.send(ServerEvent::Message { client, tag, msg });
                true
            }
            Err(why) => {
                let reason = CloseReason::ProtocolViolation(why);
                self.end(
                    link,
                    LeaveReason::Closed(reason.clone()),
                    ConnectionError::ClosedByServer(reason),
                );
                false
            }
        }
    }

    /// The server's frames to the client: (whether any moved, whether the connection is open).
    fn carry_down(&mut self, link: &mut Link) -> (bool, bool) {
        let mut moved = false;
        while let Ok(frame) = link.from_server.try_next() {
            moved = true;
            self.give_to_client(link, &frame);
        }
        let Some(last) = link.from_server.closing() else {
            return (moved, true);
        };
        let reason = match decode_frame::<ServerControl>(&last, &link.decoders) {
            Ok(Frame::Control(ServerControl::Closing(reason))) => reason,
            _ => CloseReason::ProtocolViolation(Violation::Undecodable),
        };
        self.end(
            link,
            LeaveReason::from(&reason),
            ConnectionError::ClosedByServer(reason),
        );
        (true, false)
    }

    fn give_to_client(&self, link: &Link, frame: &Bytes) {
        let event = match decode_frame::<ServerControl>(frame, &link.decoders) {
            Ok(Frame::Control(ServerControl::Ready)) => return,
            Ok(Frame::Control(ServerControl::Ping)) => return,
            Ok(Frame::Control(ServerControl::Closing(reason))) => {
                ClientEvent::Ended(ConnectionError::ClosedByServer(reason))
            }
            Ok(Frame::Message { tag, msg }) => ClientEvent::Message { tag, msg },
            Err(why) => ClientEvent::Ended(ConnectionError::BadServer(why.to_string())),
        };
        let _ = link.to_client.send(event);
    }

    /// Tells both ends the connection is over.
    fn end(&self, link: &Link, server_sees: LeaveReason, client_sees: ConnectionError) {
        let _ = self.events.send(ServerEvent::Closed {
            client: link.client,
            reason: server_sees,
        });
        let _ = link.to_client.send(ClientEvent::Ended(client_sees));
    }
}
