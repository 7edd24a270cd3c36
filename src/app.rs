//! Assembles the apps: the headless server (also run on a thread by the hosting window) and
//! the windowless client the tests drive. The windowed game is in `crate::ui`. A browser only
//! joins: the server's apps are native (`hosted`).

use bevy::prelude::*;
use bevy::state::app::StatesPlugin;

use crate::plugins;
use crate::plugins::chat::ChatConfig;
use crate::plugins::net::NetConfig;
use crate::plugins::quiz::QuizConfig;
use crate::plugins::rooms::RoomConfig;

#[cfg(not(target_arch = "wasm32"))]
mod hosted;
#[cfg(not(target_arch = "wasm32"))]
pub use hosted::{HOSTED_DRAIN_TIMEOUT, HostedServer, server_app};

/// Everything a server can be configured with.
#[derive(Clone, Debug, Default)]
pub struct ServerOptions {
    pub rooms: RoomConfig,
    pub chat: ChatConfig,
    pub net: NetConfig,
    pub quiz: QuizConfig,
}

/// A client app without window or renderer: the logic plugins only.
pub fn headless_client_app() -> App {
    let mut app = App::new();
    app.add_plugins((MinimalPlugins, StatesPlugin))
        .add_plugins(plugins::client_logic);
    app
}

/// Makes `log`-crate records below what the installed tracing subscriber shows stop at their
/// call site. Bevy's `LogPlugin` bridges `log` into tracing with every level let through, so
/// each of a dependency's `trace!` calls (tungstenite traces every WebSocket frame) paid for a
/// trip through the bridge and the filter: 6% of the server's CPU with browsers connected
/// (callgrind, 120 bots over WebSocket). Call after the `LogPlugin` is added.
pub fn match_log_crate_to_tracing() {
    use bevy::log::tracing::level_filters::LevelFilter;
    let level = match LevelFilter::current().into_level() {
        None => log::LevelFilter::Off,
        Some(bevy::log::Level::ERROR) => log::LevelFilter::Error,
        Some(bevy::log::Level::WARN) => log::LevelFilter::Warn,
        Some(bevy::log::Level::INFO) => log::LevelFilter::Info,
        Some(bevy::log::Level::DEBUG) => log::LevelFilter::Debug,
        Some(_) => log::LevelFilter::Trace,
    };
    log::set_max_level(level);
}
