//! Running under Agones (the `agones` feature, `--agones`): the server tells the Agones SDK
//! sidecar that it is Ready once it listens, pings Health from the game loop (so a stalled loop
//! stops the pings and Agones restarts the server), keeps the Counters the plugins report
//! ([`OrchestratorCounts`]) up to date, labels the GameServer with the game's version, and
//! says Shutdown after a drain.
//!
//! The SDK runs on the network runtime; the ECS side only sends to it (health pings, counts).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};

use super::OrchestratorCounts;

/// At most one health ping per this long (the game loop ticks at least once a second).
pub const HEALTH_EVERY: Duration = Duration::from_secs(1);
/// How long the server waits for the SDK to take its Shutdown before it exits anyway.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(3);
/// The GameServer label with the game's version and commit ([`crate::version::label`]).
pub const VERSION_LABEL: &str = "catchmind-version";

/// How to reach the SDK sidecar.
#[derive(Clone, Debug, Default)]
pub struct AgonesConfig {
    /// The SDK's gRPC port on localhost; `None`: `AGONES_SDK_GRPC_PORT`, else 9357.
    pub port: Option<u16>,
}

/// The ECS side's line to the SDK task.
pub(crate) struct AgonesLink {
    health: mpsc::Sender<()>,
    last_ping: Option<Instant>,
    counts: watch::Sender<OrchestratorCounts>,
    shutdown: mpsc::Sender<oneshot::Sender<()>>,
}

impl AgonesLink {
    /// Starts the SDK task on `runtime`.
    pub(crate) fn start(runtime: &tokio::runtime::Runtime, config: AgonesConfig) -> Self {
        let (health, health_rx) = mpsc::channel(4);
        let (counts, counts_rx) = watch::channel(OrchestratorCounts::default());
        let (shutdown, shutdown_rx) = mpsc::channel(1);
        runtime.spawn(run(config, health_rx, counts_rx, shutdown_rx));
        Self {
            health,
            last_ping: None,
            counts,
            shutdown,
        }
    }

    /// The game loop ticked: a health ping, at most one per [`HEALTH_EVERY`].
    pub(crate) fn ticked(&mut self, now: Instant) {
        if self.last_ping.is_some_and(|at| now < at + HEALTH_EVERY) {
            return;
        }
        self.last_ping = Some(now);
        let _ = self.health.try_send(());
    }

    pub(crate) fn report(&self, counts: &OrchestratorCounts) {
        self.counts.send_if_modified(|old| {
            let changed = old != counts;
            if changed {
                *old = counts.clone();
            }
            changed
        });
    }

    /// Tells Agones the server is done, waiting a little for the SDK to take it.
    pub(crate) async fn shut_down(&self) {
        let (done, taken) = oneshot::channel();
        if self.shutdown.send(done).await.is_ok() {
            let _ = tokio::time::timeout(SHUTDOWN_WAIT, taken).await;
        }
    }
}

async fn run(
    config: AgonesConfig,
    mut health_rx: mpsc::Receiver<()>,
    mut counts_rx: watch::Receiver<OrchestratorCounts>,
    mut shutdown_rx: mpsc::Receiver<oneshot::Sender<()>>,
) {
    let mut sdk = match agones::Sdk::new(config.port, None).await {
        Ok(sdk) => sdk,
        Err(e) => {
            bevy::log::error!("agones: cannot reach the SDK server: {e}");
            return;
        }
    };
    if let Err(e) = sdk.set_label(VERSION_LABEL, &crate::version::label()).await {
        bevy::log::warn!("agones: cannot set the version label: {e}");
    }
    // The plugins' first counts (capacities included) before Ready, so an allocator sees them.
    let _ = tokio::time::timeout(Duration::from_secs(5), counts_rx.changed()).await;
    let mut sent = BTreeMap::new();
    let first = counts_rx.borrow_and_update().clone();
    update_counters(&mut sdk, &first, &mut sent).await;
    if let Err(e) = sdk.ready().await {
        bevy::log::error!("agones: Ready failed: {e}");
        return;
    }
    bevy::log::info!("agones: Ready");
    let health = sdk.health_check();
    loop {
        tokio::select! {
            ping = health_rx.recv() => match ping {
                Some(()) => { let _ = health.send(()).await; }
                None => return,
            },
            changed = counts_rx.changed() => {
                if changed.is_err() {
                    return;
                }
                let counts = counts_rx.borrow_and_update().clone();
                update_counters(&mut sdk, &counts, &mut sent).await;
            }
            done = shutdown_rx.recv() => {
                if let Err(e) = sdk.shutdown().await {
                    bevy::log::warn!("agones: Shutdown failed: {e}");
                }
                if let Some(done) = done {
                    let _ = done.send(());
                }
                return;
            }
        }
    }
}

/// Sends the counters that changed since `sent`.
async fn update_counters(
    sdk: &mut agones::Sdk,
    counts: &OrchestratorCounts,
    sent: &mut BTreeMap<&'static str, (i64, i64)>,
) {
    for (&name, &(count, capacity)) in &counts.counters {
        let before = sent.get(name).copied();
        let mut beta = sdk.beta().clone();
        // Capacity first; a count is never sent above it.
        if before.map(|(_, c)| c) != Some(capacity)
            && let Err(e) = beta.set_counter_capacity(name, capacity).await
        {
            bevy::log::warn!("agones: cannot set the {name} capacity: {e}");
        }
        if before.map(|(n, _)| n) != Some(count)
            && let Err(e) = beta.set_counter_count(name, count.min(capacity)).await
        {
            bevy::log::warn!("agones: cannot set the {name} count: {e}");
        }
        sent.insert(name, (count, capacity));
    }
}
