//! The server's app: the dedicated server, and the one a hosting window runs on a thread.

use std::net::SocketAddr;

use bevy::app::{MainScheduleOrder, RunFixedMainLoop, SpawnScene, TaskPoolOptions};
use bevy::ecs::message::{MessageRegistry, ShouldUpdateMessages};
use bevy::ecs::schedule::{ScheduleCleanupPolicy, ScheduleLabel, SingleThreadedExecutor};
use bevy::prelude::*;
use bevy::state::app::StatesPlugin;
use bevy::state::state::StateTransition;

use super::ServerOptions;
use crate::plugins;
use crate::plugins::Side;
use crate::plugins::net::{self, NetServer, ServerError, ShutdownSignal, WireRegistry};
use crate::plugins::rooms::OperatorToken;

/// A server app serving on `listener`. `operator` is the hosting window's token; without one
/// this is a dedicated server, which Ctrl+C or SIGTERM stops. `log` installs the stderr logger (only one
/// app per process may).
pub fn server_app(
    listener: std::net::TcpListener,
    options: ServerOptions,
    shutdown: ShutdownSignal,
    operator: Option<[u8; 16]>,
    log: bool,
) -> Result<App, ServerError> {
    let mut app = App::new();
    // Bevy's task pools, without the system that polls their main-thread executors 300 times
    // an update (nothing of the server's runs on them: its schedules run on one thread,
    // below); that polling was a fifth of an update's instructions (`scripts/count`).
    TaskPoolOptions::default().create_default_pools();
    // Nothing of the server's counts frames.
    app.add_plugins(
        MinimalPlugins
            .build()
            .disable::<TaskPoolPlugin>()
            .disable::<bevy::diagnostic::FrameCountPlugin>(),
    )
    .set_runner(net::server_runner);
    if log {
        app.add_plugins(bevy::log::LogPlugin::default());
        super::match_log_crate_to_tracing();
    }
    app.add_plugins(StatesPlugin)
        .add_plugins(plugins::server_logic)
        .insert_resource(options.rooms)
        .insert_resource(options.chat)
        .insert_resource(options.quiz)
        .insert_resource(shutdown.clone());
    if let Some(token) = operator {
        app.insert_resource(OperatorToken(token));
    }
    // Every plugin has registered its wire types by now.
    let mut server = NetServer::start(
        listener,
        options.net,
        app.world().resource::<WireRegistry>(),
        operator.is_none().then(|| shutdown.clone()),
    )?;
    server.wake_on(&shutdown);
    app.insert_resource(server);
    // A server's update runs none of the client half's set (every logic plugin registers both,
    // the client's set skipped by its condition; an executor still steps over each skipped
    // system and checks its conditions), nor the network's systems of a player's connection,
    // no state (the connection state is only the client's) and no fixed-step systems. Nor
    // Bevy's for commands delayed in time or one-shot systems: the server uses neither.
    for label in [
        PreUpdate.intern(),
        Update.intern(),
        PostUpdate.intern(),
        Last.intern(),
    ] {
        // A schedule with no such system has no such set: nothing to remove.
        let _ = app.remove_systems_in_set(label, Side::Client, ScheduleCleanupPolicy::RemoveSetAndSystems);
        let _ = app.remove_systems_in_set(
            label,
            net::ClientNetSystems,
            ScheduleCleanupPolicy::RemoveSetAndSystems,
        );
    }
    let _ = app.remove_systems_in_set(
        PreUpdate,
        bevy::time::check_delayed_command_queues,
        ScheduleCleanupPolicy::RemoveSystemsOnly,
    );
    let _ = app.remove_systems_in_set(
        Last,
        bevy::ecs::system::despawn_unused_registered_systems,
        ScheduleCleanupPolicy::RemoveSystemsOnly,
    );
    net::drop_client_messages(app.world_mut());
    let skipped = [
        StateTransition.intern(),
        RunFixedMainLoop.intern(),
        SpawnScene.intern(),
    ];
    app.world_mut()
        .resource_mut::<MainScheduleOrder>()
        .labels
        .retain(|label| !skipped.contains(label));
    // Bevy drops old messages only after a fixed step ran; with no fixed step the server
    // signals it itself, as often (see `signal_message_updates`).
    app.add_systems(Last, signal_message_updates);
    // The server's systems are few and small: running them on one thread avoids waking a
    // thread pool every update (measured in release with the earlier 60 Hz tick: 2.5% of a
    // core down to 1.1% with three idle players connected; an idle update now costs 6.7 µs).
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
    Ok(app)
}

/// How often the server's messages are updated: each is kept two updates of this (62.5 to
/// 125 ms while the loop runs; up to two of its updates, at least one a second, when idle), a
/// quarter of the rate of Bevy's fixed step, which the server does not run. Every system reads
/// its messages in the update they came in, so keeping them longer costs only memory; going
/// over every kind of message costs 5,000 instructions, at 64 Hz a seventh of a one-room
/// server's updates (`scripts/count`).
const MESSAGE_UPDATE_EVERY: std::time::Duration = std::time::Duration::from_micros(62_500);

/// Lets Bevy drop the messages older than two updates of theirs, at most every
/// [`MESSAGE_UPDATE_EVERY`]: Bevy waits for a fixed step before it does, and the server runs
/// none (it kept every message it ever sent or received when the fixed-step loop was first
/// taken out of its updates). Not every update: going over every kind of message costs as
/// much as a fifth of an update's instructions.
fn signal_message_updates(
    time: Res<Time<Real>>,
    mut registry: ResMut<MessageRegistry>,
    mut last: Local<std::time::Duration>,
) {
    let now = time.elapsed();
    if now.saturating_sub(*last) >= MESSAGE_UPDATE_EVERY {
        *last = now;
        registry.should_update = ShouldUpdateMessages::Ready;
    }
}

/// A server running on its own thread for the hosting window, which joins it over loopback
/// like any other client. Dropping it stops the server (which drains on its thread and tells
/// every client why); [`HostedServer::stop`] also waits for it.
#[derive(Resource)]
pub struct HostedServer {
    pub addr: SocketAddr,
    /// Sent in the host window's join request so the server knows its operator.
    pub token: [u8; 16],
    /// It serves the browser's page (its folder was found at start), so invite links work.
    pub serves_page: bool,
    shutdown: ShutdownSignal,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// A hosting window that closes waits at most this long for the turns in progress to end.
pub const HOSTED_DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl HostedServer {
    pub fn spawn(listener: std::net::TcpListener, mut options: ServerOptions) -> Result<Self, ServerError> {
        options.net.drain_timeout = options.net.drain_timeout.min(HOSTED_DRAIN_TIMEOUT);
        let addr = listener.local_addr().map_err(ServerError::Runtime)?;
        let token: [u8; 16] = rand::random();
        let serves_page = options.net.web_root.is_some();
        let shutdown = ShutdownSignal::default();
        let signal = shutdown.clone();
        let (started_tx, started) = std::sync::mpsc::channel();
        // The app is built on its thread (a Bevy app stays on the thread that made it).
        let thread = std::thread::Builder::new()
            .name("game-server".into())
            .spawn(
                move || match server_app(listener, options, signal, Some(token), false) {
                    Ok(mut app) => {
                        let _ = started_tx.send(Ok(()));
                        app.run();
                    }
                    Err(e) => {
                        let _ = started_tx.send(Err(e));
                    }
                },
            )
            .map_err(ServerError::Runtime)?;
        match started.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                return Err(ServerError::Runtime(std::io::Error::other(
                    "the server thread died",
                )));
            }
        }
        Ok(Self {
            addr,
            token,
            serves_page,
            shutdown,
            thread: Some(thread),
        })
    }

    /// Stops the server (telling clients; the turns in progress end first, within
    /// [`HOSTED_DRAIN_TIMEOUT`]) and waits for its thread.
    pub fn stop(&mut self) {
        self.request_stop();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    /// Asks the server to stop without waiting: it drains on its own thread (see
    /// [`HostedServer::has_stopped`]); asked again, it stops at once.
    pub fn request_stop(&self) {
        self.shutdown.request();
    }

    /// Whether a stop was asked for.
    pub fn stopping(&self) -> bool {
        self.shutdown.requests() > 0
    }

    /// Whether the server has stopped: every client told, its port free.
    pub fn has_stopped(&self) -> bool {
        self.thread.as_ref().is_none_or(|thread| thread.is_finished())
    }

    /// The server's open connections, as of its last update.
    pub fn connections(&self) -> usize {
        self.shutdown.connections()
    }
}

impl Drop for HostedServer {
    /// Asks the server to stop without waiting for it (the hosting window goes back to its
    /// launcher at once; the server drains on its own thread).
    fn drop(&mut self) {
        self.shutdown.request();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Message)]
    struct Probe;

    /// A server app drops old messages (it has no fixed step for Bevy to wait for): it kept
    /// every message when the fixed-step loop was taken out of its updates.
    #[test]
    fn a_server_drops_old_messages() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut app = server_app(
            listener,
            ServerOptions::default(),
            ShutdownSignal::default(),
            None,
            false,
        )
        .unwrap();
        app.add_message::<Probe>();
        crate::startup::finish_plugins(&mut app);
        for _ in 0..10 {
            app.world_mut().write_message(Probe);
            app.update();
            std::thread::sleep(MESSAGE_UPDATE_EVERY);
        }
        let kept = app.world().resource::<Messages<Probe>>().len();
        app.world_mut().resource_mut::<NetServer>().shut_down();
        assert!(kept <= 2, "{kept} messages kept");
    }
}
