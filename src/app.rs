//! Assembles the apps: the headless server (also run on a thread by the hosting window) and
//! the windowless client the tests drive. The windowed game is in `crate::ui`.

use std::net::SocketAddr;
use std::time::Duration;

use bevy::ecs::schedule::{ScheduleLabel, SingleThreadedExecutor};
use bevy::prelude::*;
use bevy::state::app::StatesPlugin;
use bevy::state::state::StateTransition;

use crate::plugins::chat::ChatConfig;
use crate::plugins::net::{self, NetConfig, NetServer, ServerError, ShutdownSignal};
use crate::plugins::quiz::QuizConfig;
use crate::plugins::rooms::RoomConfig;
use crate::plugins::{self, AppMode};

/// The server ticks at this rate while anyone is connected; between ticks it sleeps.
pub const SERVER_TICK_HZ: f64 = 60.0;

/// Everything a server can be configured with.
#[derive(Clone, Debug, Default)]
pub struct ServerOptions {
    pub rooms: RoomConfig,
    pub chat: ChatConfig,
    pub net: NetConfig,
    pub quiz: QuizConfig,
}

/// A server app around a started [`NetServer`]. `log` installs the stderr logger (only one
/// app per process may).
pub fn server_app(server: NetServer, options: ServerOptions, shutdown: ShutdownSignal, log: bool) -> App {
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .set_runner(|app| net::server_runner(app, Duration::from_secs_f64(1.0 / SERVER_TICK_HZ)));
    if log {
        app.add_plugins(bevy::log::LogPlugin::default());
    }
    app.add_plugins(StatesPlugin)
        .insert_state(AppMode::Server)
        .add_plugins(plugins::logic)
        .insert_resource(options.rooms)
        .insert_resource(options.chat)
        .insert_resource(options.quiz)
        .insert_resource(server)
        .insert_resource(shutdown);
    // The server's systems are few and small: running them on one thread avoids waking a
    // thread pool every tick (measured in release: 2.5% of a core down to 1.1% with three
    // idle players connected).
    for label in [
        First.intern(),
        PreUpdate.intern(),
        StateTransition.intern(),
        Update.intern(),
        PostUpdate.intern(),
        Last.intern(),
    ] {
        app.edit_schedule(label, |schedule| {
            schedule.set_executor(SingleThreadedExecutor::new());
        });
    }
    app
}

/// A client app without window or renderer: the logic plugins only.
pub fn headless_client_app() -> App {
    let mut app = App::new();
    app.add_plugins((MinimalPlugins, StatesPlugin))
        .insert_state(AppMode::Client)
        .add_plugins(plugins::logic);
    app
}

/// A server running on its own thread for the hosting window, which joins it over loopback
/// like any other client. Dropping it stops the server and tells every client why.
#[derive(Resource)]
pub struct HostedServer {
    pub addr: SocketAddr,
    /// Sent in the host window's handshake so the server knows its operator.
    pub token: [u8; 16],
    shutdown: ShutdownSignal,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HostedServer {
    pub fn spawn(listener: std::net::TcpListener, options: ServerOptions) -> Result<Self, ServerError> {
        let addr = listener.local_addr().map_err(ServerError::Runtime)?;
        let token: [u8; 16] = rand::random();
        let shutdown = ShutdownSignal::default();
        let server = NetServer::start(listener, options.net.clone(), Some(token), None)?;
        let signal = shutdown.clone();
        let thread = std::thread::Builder::new()
            .name("game-server".into())
            .spawn(move || {
                server_app(server, options, signal, false).run();
            })
            .map_err(ServerError::Runtime)?;
        Ok(Self {
            addr,
            token,
            shutdown,
            thread: Some(thread),
        })
    }

    /// Stops the server (telling clients) and waits for its thread.
    pub fn stop(&mut self) {
        self.shutdown.request();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for HostedServer {
    fn drop(&mut self) {
        self.stop();
    }
}
