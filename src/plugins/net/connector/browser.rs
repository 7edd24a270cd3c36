//! The client's transport in a browser: the page's WebSocket, one binary message per frame of
//! the game's wire (the same handshake, tags and frames as over TCP), on the page's own event
//! loop. The writer is a task on the page's executor that drains the same outbox as the TCP
//! writer; the reader is the socket's `message` callback.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

use bevy::platform::time::Instant;
use bytes::Bytes;
use crossbeam_channel::Sender;
use js_sys::{ArrayBuffer, Date, Promise, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use wasm_bindgen_futures::JsFuture;
use web_sys::{BinaryType, CloseEvent, Event, MessageEvent, WebSocket};

use super::super::frames::{NetConfig, Next, Outbox, OutboxReceivers, TokenBucket};
use super::super::wire::{ClientControl, Decoder, Frame, ServerControl, decode_frame, encode_control};
use super::{ClientEvent, ConnectionError, SERVER_FRAMES_PER_SECOND, websocket_url};
use crate::codec::MAX_FRAME_LEN;

/// How long a socket may take to open before the player is told there is no answer.
const OPEN_TIMEOUT_MS: f64 = 10_000.0;
/// How often the writer looks at the clock (heartbeat, silence, opening).
const TICK_MS: i32 = 500;

/// What the socket's callbacks and the writer share.
struct Link {
    addr: String,
    events: Sender<ClientEvent>,
    wake: Option<Arc<dyn Fn() + Send + Sync>>,
    outbox: Outbox,
    opened: Cell<bool>,
    ended: Cell<bool>,
    /// When a frame last arrived (or the socket was opened), in ms since the epoch.
    last_heard: Cell<f64>,
    rate: RefCell<TokenBucket>,
    decoders: Arc<[Decoder]>,
}

impl Link {
    fn notify(&self, event: ClientEvent) {
        let _ = self.events.send(event);
        if let Some(wake) = &self.wake {
            wake();
        }
    }

    /// Ends the connection once, saying why; the writer sees the cancellation and closes.
    fn end(&self, why: ConnectionError) {
        if !self.ended.replace(true) {
            self.notify(ClientEvent::Ended(why));
        }
        self.outbox.cancel.cancel();
    }

    /// A message arrived; it is copied out of the page's memory only within the frame cap.
    fn arrived(&self, buffer: ArrayBuffer) {
        if self.ended.get() {
            return;
        }
        if buffer.byte_length() as usize > MAX_FRAME_LEN {
            return self.end(ConnectionError::BadServer("a message over the size limit".into()));
        }
        self.received(&Uint8Array::new(&buffer).to_vec());
    }

    fn received(&self, data: &[u8]) {
        if !self.rate.borrow_mut().take_at(Instant::now()) {
            return self.end(ConnectionError::BadServer("too many messages, too fast".into()));
        }
        self.last_heard.set(Date::now());
        match decode_frame::<ServerControl>(data, &self.decoders) {
            Ok(Frame::Control(ServerControl::Ping)) => {}
            Ok(Frame::Control(ServerControl::Ready)) => self.notify(ClientEvent::Ready),
            Ok(Frame::Control(ServerControl::Closing(reason))) => {
                self.end(ConnectionError::ClosedByServer(reason))
            }
            Ok(Frame::Message { tag, msg }) => self.notify(ClientEvent::Message { tag, msg }),
            Err(why) => self.end(ConnectionError::BadServer(why.to_string())),
        }
    }

    fn closed(&self, code: u16) {
        let why = if !self.opened.get() {
            ConnectionError::Refused {
                addr: self.addr.clone(),
            }
        } else if code == 1000 || code == 1001 {
            ConnectionError::ServerGone
        } else {
            ConnectionError::Lost
        };
        self.end(why);
    }
}

/// Opens a WebSocket to the game server at `addr` and carries the outbox's frames over it.
pub(crate) fn start(
    addr: String,
    config: NetConfig,
    decoders: Arc<[Decoder]>,
    events: Sender<ClientEvent>,
    receivers: OutboxReceivers,
    outbox: Outbox,
    wake: Option<Arc<dyn Fn() + Send + Sync>>,
) -> Result<(), ConnectionError> {
    let secure = web_sys::window()
        .and_then(|w| w.location().protocol().ok())
        .is_some_and(|p| p == "https:");
    let url = websocket_url(&addr, secure);
    let socket = WebSocket::new(&url).map_err(|e| ConnectionError::Connect {
        addr: addr.clone(),
        detail: e.as_string().unwrap_or_else(|| "not a WebSocket address".into()),
    })?;
    socket.set_binary_type(BinaryType::Arraybuffer);
    let link = Rc::new(Link {
        addr,
        events,
        wake,
        outbox: outbox.clone(),
        opened: Cell::new(false),
        ended: Cell::new(false),
        last_heard: Cell::new(Date::now()),
        rate: RefCell::new(TokenBucket::new(
            SERVER_FRAMES_PER_SECOND,
            SERVER_FRAMES_PER_SECOND * 2.0,
        )),
        decoders,
    });
    let on_open = {
        let link = link.clone();
        Closure::<dyn FnMut(Event)>::new(move |_| {
            link.opened.set(true);
            link.last_heard.set(Date::now());
        })
    };
    let on_message = {
        let link = link.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            match event.data().dyn_into::<ArrayBuffer>() {
                Ok(buffer) => link.arrived(buffer),
                Err(_) => link.end(ConnectionError::BadServer("a text message".into())),
            }
        })
    };
    let on_close = {
        let link = link.clone();
        Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| link.closed(event.code()))
    };
    socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    wasm_bindgen_futures::spawn_local(async move {
        write_loop(&socket, &link, receivers, &config).await;
        socket.set_onopen(None);
        socket.set_onmessage(None);
        socket.set_onclose(None);
        let _ = socket.close_with_code(1000);
        drop((on_open, on_message, on_close));
    });
    Ok(())
}

/// Sends what is queued once the socket is open, a ping when idle, the goodbye last; watches
/// for a socket that never opens and a server gone silent.
async fn write_loop(socket: &WebSocket, link: &Link, mut rx: OutboxReceivers, config: &NetConfig) {
    let started = Date::now();
    let mut last_write = started;
    let ping = encode_control(&ClientControl::Ping);
    let send = |frame: &Bytes| socket.send_with_u8_array(frame).is_ok();
    let mut tick = Box::pin(sleep(TICK_MS));
    loop {
        if !link.opened.get() {
            tokio::select! {
                biased;
                _ = link.outbox.cancel.cancelled() => return,
                _ = tick.as_mut() => {
                    tick = Box::pin(sleep(TICK_MS));
                    if Date::now() - started > OPEN_TIMEOUT_MS {
                        return link.end(ConnectionError::ConnectTimeout { addr: link.addr.clone() });
                    }
                }
            }
            continue;
        }
        let frame = tokio::select! {
            biased;
            _ = link.outbox.cancel.cancelled() => return,
            next = rx.next() => match next {
                Next::Frame(frame) => frame,
                Next::Close(last) => {
                    while let Ok(frame) = rx.try_next() {
                        send(&frame);
                    }
                    if !last.is_empty() {
                        send(&last);
                    }
                    return;
                }
            },
            _ = tick.as_mut() => {
                tick = Box::pin(sleep(TICK_MS));
                let now = Date::now();
                if now - link.last_heard.get() > config.peer_timeout.as_millis() as f64 {
                    return link.end(ConnectionError::ServerSilent);
                }
                if now - last_write < config.heartbeat_interval.as_millis() as f64 {
                    continue;
                }
                ping.clone()
            }
        };
        if !send(&frame) {
            return link.end(ConnectionError::Lost);
        }
        last_write = Date::now();
    }
}

/// Resolves after `ms` milliseconds (the page's timer).
async fn sleep(ms: i32) {
    let promise = Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(promise).await;
}
