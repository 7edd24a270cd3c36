//! The server's loop and its clock: an update as soon as input waits (batched, at most one a
//! millisecond), when a plugin's timer is due ([`ServerWake`]) and at least once a second; the
//! stop ([`ShutdownSignal`]) and the drain ([`Draining`]) that ends it; the tick the health
//! check reads.

use bevy::app::MainScheduleOrder;
use bevy::ecs::schedule::Schedules;

use super::*;
use crate::plugins::net::{Draining, ServerWake};

/// Asks the server to stop (Ctrl+C or SIGTERM, or the hosting window closing); it wakes the
/// server's loop, which may be waiting for input. The first request drains (the games' turns in
/// progress end first, at most [`NetConfig::drain_timeout`]); a second one stops at once.
#[derive(Resource, Clone, Default)]
pub struct ShutdownSignal {
    pub(super) requests: Arc<AtomicU32>,
    pub(super) wake: Arc<std::sync::OnceLock<crossbeam_channel::Sender<()>>>,
    /// The server's open connections, as of its last update (what a stop has to tell).
    pub(super) connections: Arc<std::sync::atomic::AtomicUsize>,
}

impl ShutdownSignal {
    pub fn request(&self) {
        self.requests.fetch_add(1, Ordering::SeqCst);
        if let Some(wake) = self.wake.get() {
            let _ = wake.try_send(());
        }
    }

    /// How many times a stop was asked for.
    pub fn requests(&self) -> u32 {
        self.requests.load(Ordering::SeqCst)
    }

    /// The server's open connections, as of its last update.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }
}

/// The shortest time between two updates of a busy server, so a flood of frames is handled in
/// batches rather than one update per frame.
pub const MIN_UPDATE_GAP: Duration = Duration::from_millis(1);
/// An idle server's loop still runs this often (health checks expect a loop that ticks).
pub const IDLE_WAKE: Duration = Duration::from_secs(1);

/// Runs a server app whenever input is waiting (the network side wakes it), at most once per
/// [`MIN_UPDATE_GAP`], and when a plugin's timer is due ([`ServerWake`]); otherwise it sleeps,
/// waking every [`IDLE_WAKE`]. What an update sends leaves at its end.
pub fn server_runner(mut app: App) -> AppExit {
    crate::startup::finish_plugins(&mut app);
    let mut updates = Updates::default();
    loop {
        let started = Instant::now();
        updates.run(&mut app);
        if let Some(exit) = app.should_exit() {
            return exit;
        }
        let world = app.world_mut();
        let Some(server) = world.get_resource::<NetServer>() else {
            return AppExit::Success;
        };
        server.ticked(started.elapsed());
        let wake = server.wake.clone();
        let startup = world.resource::<Time<Real>>().startup();
        let timer = world.resource_mut::<ServerWake>().next.take();
        let wait = timer.map_or(IDLE_WAKE, |at| {
            (startup + at)
                .saturating_duration_since(Instant::now())
                .min(IDLE_WAKE)
        });
        if !wait.is_zero() {
            let _ = wake.recv_timeout(wait);
        }
        if let Some(rest) = MIN_UPDATE_GAP.checked_sub(started.elapsed()) {
            std::thread::sleep(rest);
        }
    }
}

/// Runs the server app's updates. The first is `App::update` (the startup schedules run in
/// it); after it the main schedules are held here and each update runs them in order and
/// clears the change trackers, as `App::update` does for an app without sub-apps, without
/// looking each schedule up and moving it out of the world and back, through the `Main`
/// schedule, every time: about a fifth of an idle update's instructions (`scripts/count`).
#[derive(Default)]
struct Updates {
    held: Option<Vec<Schedule>>,
}

impl Updates {
    fn run(&mut self, app: &mut App) {
        let Some(held) = &mut self.held else {
            app.update();
            let world = app.world_mut();
            let order = world.resource::<MainScheduleOrder>().labels.clone();
            let mut schedules = world.resource_mut::<Schedules>();
            self.held = Some(
                order
                    .into_iter()
                    .filter_map(|label| schedules.remove(label))
                    .collect(),
            );
            return;
        };
        let world = app.world_mut();
        // Bevy ages the change ticks of the schedules it holds; these are held here.
        if let Some(check) = world.check_change_ticks() {
            for schedule in held.iter_mut() {
                schedule.check_change_ticks(check);
            }
        }
        for schedule in held.iter_mut() {
            schedule.run(world);
        }
        world.clear_trackers();
    }
}

/// The game loop ran: `/healthz` reads when it last did (and Agones gets its health ping).
pub(super) fn note_tick(mut server: ResMut<NetServer>) {
    let shared = &server.shared;
    let at = shared.health.started.elapsed().as_millis() as u64;
    shared.last_tick_ms.store(at, Ordering::Relaxed);
    #[cfg(feature = "agones")]
    if let Some(agones) = &mut server.agones {
        agones.ticked(Instant::now());
    }
    #[cfg(not(feature = "agones"))]
    let _ = &mut server;
}

/// A first stop request starts the drain ([`Draining`]); the server stops once nobody is
/// left, when the drain's time is up, or at a second request (or at once with no drain time).
pub(super) fn stop_server_when_asked(
    mut commands: Commands,
    mut server: ResMut<NetServer>,
    signal: Option<Res<ShutdownSignal>>,
    draining: Option<Res<Draining>>,
    time: Res<Time<Real>>,
    mut wake: ResMut<ServerWake>,
    mut exit: MessageWriter<AppExit>,
) {
    let requests = signal.map_or(0, |s| s.requests());
    if requests == 0 {
        return;
    }
    let now = time.elapsed();
    let drain_timeout = server.shared.config.drain_timeout;
    match draining {
        None if requests == 1 && !drain_timeout.is_zero() && !server.conns.is_empty() => {
            info!(
                "draining: {} connections, at most {} s; a second Ctrl+C or SIGTERM stops at once",
                server.conns.len(),
                drain_timeout.as_secs()
            );
            server.shared.draining.store(true, Ordering::SeqCst);
            server.figures.draining.set(1.0);
            let until = now + drain_timeout;
            // At once: the plugins wind down in the next update.
            wake.at(now);
            commands.insert_resource(Draining {
                until,
                reason: server.stop_reason.clone(),
            });
            return;
        }
        Some(drain) if requests == 1 && now < drain.until && !server.conns.is_empty() => {
            wake.at(drain.until);
            return;
        }
        Some(drain) if requests == 1 && now < drain.until => info!("drained: every player has left"),
        Some(_) if requests == 1 => info!("the drain's time is up"),
        _ => {}
    }
    info!("stopping: telling {} connected clients", server.conns.len());
    server.shut_down();
    exit.write(AppExit::Success);
}
