//! The client's transports: connecting, the handshake, reading the server's frames and
//! writing ours, over TCP natively (`tcp`) or a WebSocket in a browser (`browser`). Nothing
//! here knows Bevy or any game type.

use super::wire::{CloseReason, Refusal};
#[cfg(target_arch = "wasm32")]
pub(crate) use browser::start as start_browser;
#[cfg(not(target_arch = "wasm32"))]
pub(crate) use tcp::run_client;

#[cfg(target_arch = "wasm32")]
mod browser;
#[cfg(not(target_arch = "wasm32"))]
mod tcp;

/// Frames per second a client accepts from its server (bursts of twice that).
const SERVER_FRAMES_PER_SECOND: f64 = 2000.0;

/// The WebSocket address of the game server at `addr`: the server takes WebSockets at `/ws`
/// on its one port. `addr` is `host:port`, or a page's address pasted whole (`http://host:port/?room=x`);
/// `secure` when the page itself came over HTTPS (a browser allows only `wss://` then).
#[cfg(any(test, target_arch = "wasm32"))]
pub(crate) fn websocket_url(addr: &str, secure: bool) -> String {
    let addr = addr.trim();
    let (secure, rest) = match addr.split_once("://") {
        Some(("https" | "wss", rest)) => (true, rest),
        Some((_, rest)) => (false, rest),
        None => (secure, addr),
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    format!("{}://{host}/ws", if secure { "wss" } else { "ws" })
}

/// What the client's connection reports to the ECS side.
pub(crate) enum ClientEvent {
    /// The server accepted the handshake.
    Ready,
    Message {
        tag: u32,
        msg: super::wire::AnyMessage,
    },
    Ended(ConnectionError),
}

/// Why a client's connection failed or ended, in words for the player.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectionError {
    #[error("cannot find the server \"{addr}\": {detail}")]
    Resolve { addr: String, detail: String },
    #[error("connection refused by {addr}: is the server running?")]
    Refused { addr: String },
    #[error("no answer from {addr} (timed out connecting)")]
    ConnectTimeout { addr: String },
    #[error("cannot connect to {addr}: {detail}")]
    Connect { addr: String, detail: String },
    #[error("{}", closed_by_server(.0))]
    ClosedByServer(CloseReason),
    #[error("the server went away")]
    ServerGone,
    #[error("lost the connection to the server")]
    Lost,
    #[error("the server stopped answering (timed out)")]
    ServerSilent,
    #[error("the server sent something invalid: {0}")]
    BadServer(String),
    #[error("left the game")]
    Left,
}

impl ConnectionError {
    /// The connection never got established (as opposed to ending later).
    pub fn is_connect_failure(&self) -> bool {
        match self {
            Self::Resolve { .. }
            | Self::Refused { .. }
            | Self::ConnectTimeout { .. }
            | Self::Connect { .. } => true,
            Self::ClosedByServer(reason) => reason.is_refusal(),
            _ => false,
        }
    }
}

fn closed_by_server(reason: &CloseReason) -> String {
    match reason {
        CloseReason::ServerShutdown => "the server was stopped".into(),
        CloseReason::ServerRestarting => "the server is restarting; join again in a minute".into(),
        CloseReason::Refused(Refusal::ByTheGame) => "the server refused to let you in".into(),
        CloseReason::Refused(why) => format!("the server refused to let you in: {why}"),
        other => format!("the server disconnected you: {other}"),
    }
}

impl crate::i18n::Describe for ConnectionError {
    fn describe(&self) -> String {
        match self {
            Self::Resolve { addr, detail } => {
                crate::t!("err-conn-resolve", addr = addr.clone(), detail = detail.clone())
            }
            Self::Refused { addr } => crate::t!("err-conn-refused", addr = addr.clone()),
            Self::ConnectTimeout { addr } => crate::t!("err-conn-timeout", addr = addr.clone()),
            Self::Connect { addr, detail } => {
                crate::t!("err-conn-connect", addr = addr.clone(), detail = detail.clone())
            }
            Self::ClosedByServer(CloseReason::ServerShutdown) => crate::t!("err-close-shutdown"),
            Self::ClosedByServer(CloseReason::ServerRestarting) => crate::t!("err-close-restarting-join"),
            Self::ClosedByServer(CloseReason::Refused(Refusal::ByTheGame)) => {
                crate::t!("err-conn-refused-in")
            }
            Self::ClosedByServer(CloseReason::Refused(why)) => {
                crate::t!("err-conn-refused-in-why", why = why.describe())
            }
            Self::ClosedByServer(other) => crate::t!("err-conn-disconnected", why = other.describe()),
            Self::ServerGone => crate::t!("err-conn-gone"),
            Self::Lost => crate::t!("err-conn-lost"),
            Self::ServerSilent => crate::t!("err-conn-silent"),
            Self::BadServer(what) => crate::t!("err-conn-bad-server", what = what.clone()),
            Self::Left => crate::t!("err-conn-left"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::websocket_url;

    #[test]
    fn the_websocket_is_at_ws_on_the_servers_one_port() {
        assert_eq!(websocket_url("127.0.0.1:1234", false), "ws://127.0.0.1:1234/ws");
        assert_eq!(websocket_url(" [::1]:5 ", false), "ws://[::1]:5/ws");
        assert_eq!(
            websocket_url("game.example:1234", true),
            "wss://game.example:1234/ws"
        );
        assert_eq!(
            websocket_url("http://192.168.0.7:1234/?room=x&name=y", false),
            "ws://192.168.0.7:1234/ws"
        );
        assert_eq!(
            websocket_url("https://game.example/", false),
            "wss://game.example/ws"
        );
        assert_eq!(websocket_url("ws://h:1/ws", true), "ws://h:1/ws");
    }
}
