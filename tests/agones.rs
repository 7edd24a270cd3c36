//! The server under Agones (the `agones` feature), against a fake Agones SDK server that
//! records every call: Ready after the server listens (with its version label and capacities),
//! Health pings while the game loop ticks and none while it stalls, Counters that follow joins
//! and leaves, Shutdown after a drain (in-process, and a real process stopped with SIGTERM).
#![cfg(feature = "agones")]

mod common;

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bevy::app::App;
use catchmind::app::{ServerOptions, server_app};
use catchmind::plugins::net::agones::{AgonesConfig, VERSION_LABEL};
use catchmind::plugins::net::{ClientState, NetConfig, NetServer, ShutdownSignal};
use common::{Client, child_server, free_port};
use tonic::{Request, Response, Status, Streaming};

// The generated code has more than the fake uses.
#[allow(dead_code)]
mod sdk {
    tonic::include_proto!("agones.dev.sdk");
    pub mod beta {
        tonic::include_proto!("agones.dev.sdk.beta");
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Call {
    GetGameServer,
    Ready,
    Health,
    Shutdown,
    Label(String, String),
    Count(String, i64),
    Capacity(String, i64),
}

/// The calls the fake received, with when.
#[derive(Clone, Default)]
struct Fake(Arc<Mutex<Vec<(Instant, Call)>>>);

impl Fake {
    fn record(&self, call: Call) {
        self.0.lock().unwrap().push((Instant::now(), call));
    }

    fn calls(&self) -> Vec<Call> {
        self.0.lock().unwrap().iter().map(|(_, c)| c.clone()).collect()
    }

    fn position(&self, call: &Call) -> Option<usize> {
        self.calls().iter().position(|c| c == call)
    }

    fn health_between(&self, from: Instant, to: Instant) -> usize {
        let calls = self.0.lock().unwrap();
        calls
            .iter()
            .filter(|(at, c)| *c == Call::Health && *at >= from && *at < to)
            .count()
    }

    fn last_count(&self, name: &str) -> Option<i64> {
        self.calls().iter().rev().find_map(|c| match c {
            Call::Count(n, count) if n == name => Some(*count),
            _ => None,
        })
    }

    /// Serves the fake on a port of its own (on its own runtime, for the rest of the test).
    fn serve(&self) -> u16 {
        let port = free_port();
        let (stable, beta) = (self.clone(), self.clone());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        std::thread::spawn(move || {
            runtime.block_on(async move {
                tonic::transport::Server::builder()
                    .add_service(sdk::sdk_server::SdkServer::new(stable))
                    .add_service(sdk::beta::sdk_server::SdkServer::new(beta))
                    .serve(addr)
                    .await
                    .expect("the fake SDK server runs");
            });
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "the fake did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        port
    }

    fn wait_for(&self, what: &str, mut step: impl FnMut(), done: impl Fn(&Fake) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !done(self) {
            assert!(Instant::now() < deadline, "{what}: {:?}", self.calls());
            step();
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

type GameServers = Pin<Box<dyn futures_util::Stream<Item = Result<sdk::GameServer, Status>> + Send>>;

#[tonic::async_trait]
impl sdk::sdk_server::Sdk for Fake {
    async fn ready(&self, _: Request<sdk::Empty>) -> Result<Response<sdk::Empty>, Status> {
        self.record(Call::Ready);
        Ok(Response::new(sdk::Empty {}))
    }

    async fn allocate(&self, _: Request<sdk::Empty>) -> Result<Response<sdk::Empty>, Status> {
        Err(Status::unimplemented("not used"))
    }

    async fn shutdown(&self, _: Request<sdk::Empty>) -> Result<Response<sdk::Empty>, Status> {
        self.record(Call::Shutdown);
        Ok(Response::new(sdk::Empty {}))
    }

    async fn health(&self, pings: Request<Streaming<sdk::Empty>>) -> Result<Response<sdk::Empty>, Status> {
        let mut pings = pings.into_inner();
        while let Ok(Some(_)) = pings.message().await {
            self.record(Call::Health);
        }
        Ok(Response::new(sdk::Empty {}))
    }

    async fn get_game_server(&self, _: Request<sdk::Empty>) -> Result<Response<sdk::GameServer>, Status> {
        self.record(Call::GetGameServer);
        Ok(Response::new(sdk::GameServer::default()))
    }

    type WatchGameServerStream = GameServers;

    async fn watch_game_server(&self, _: Request<sdk::Empty>) -> Result<Response<GameServers>, Status> {
        Err(Status::unimplemented("not used"))
    }

    async fn set_label(&self, label: Request<sdk::KeyValue>) -> Result<Response<sdk::Empty>, Status> {
        let label = label.into_inner();
        self.record(Call::Label(label.key, label.value));
        Ok(Response::new(sdk::Empty {}))
    }

    async fn set_annotation(&self, _: Request<sdk::KeyValue>) -> Result<Response<sdk::Empty>, Status> {
        Err(Status::unimplemented("not used"))
    }

    async fn reserve(&self, _: Request<sdk::Duration>) -> Result<Response<sdk::Empty>, Status> {
        Err(Status::unimplemented("not used"))
    }
}

#[tonic::async_trait]
impl sdk::beta::sdk_server::Sdk for Fake {
    async fn get_counter(
        &self,
        _: Request<sdk::beta::GetCounterRequest>,
    ) -> Result<Response<sdk::beta::Counter>, Status> {
        Err(Status::unimplemented("not used"))
    }

    async fn update_counter(
        &self,
        update: Request<sdk::beta::UpdateCounterRequest>,
    ) -> Result<Response<sdk::beta::Counter>, Status> {
        let update = update
            .into_inner()
            .counter_update_request
            .ok_or_else(|| Status::invalid_argument("no update"))?;
        if let Some(capacity) = update.capacity {
            self.record(Call::Capacity(update.name.clone(), capacity));
        }
        if let Some(count) = update.count {
            self.record(Call::Count(update.name.clone(), count));
        }
        Ok(Response::new(sdk::beta::Counter {
            name: update.name,
            ..Default::default()
        }))
    }

    async fn get_list(
        &self,
        _: Request<sdk::beta::GetListRequest>,
    ) -> Result<Response<sdk::beta::List>, Status> {
        Err(Status::unimplemented("not used"))
    }

    async fn update_list(
        &self,
        _: Request<sdk::beta::UpdateListRequest>,
    ) -> Result<Response<sdk::beta::List>, Status> {
        Err(Status::unimplemented("not used"))
    }

    async fn add_list_value(
        &self,
        _: Request<sdk::beta::AddListValueRequest>,
    ) -> Result<Response<sdk::beta::List>, Status> {
        Err(Status::unimplemented("not used"))
    }

    async fn remove_list_value(
        &self,
        _: Request<sdk::beta::RemoveListValueRequest>,
    ) -> Result<Response<sdk::beta::List>, Status> {
        Err(Status::unimplemented("not used"))
    }
}

/// A dedicated server app under Agones, driven by the test (one `update` per step).
fn server_under_agones(port: u16) -> (App, SocketAddr, ShutdownSignal) {
    let listener = NetServer::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let options = ServerOptions {
        net: NetConfig {
            agones: Some(AgonesConfig { port: Some(port) }),
            ..NetConfig::default()
        },
        ..ServerOptions::default()
    };
    let stop = ShutdownSignal::default();
    let mut app = server_app(listener, options, stop.clone(), None, false).unwrap();
    catchmind::startup::finish_plugins(&mut app);
    (app, addr, stop)
}

#[test]
fn ready_health_counters_and_shutdown_follow_the_server() {
    let fake = Fake::default();
    let port = fake.serve();
    let (mut app, addr, stop) = server_under_agones(port);

    // Ready once listening, after the version label and the capacities.
    fake.wait_for("Ready", || app.update(), |f| f.position(&Call::Ready).is_some());
    let ready = fake.position(&Call::Ready).unwrap();
    let label = Call::Label(VERSION_LABEL.into(), catchmind::version::label());
    for before in [
        label,
        Call::Capacity("players".into(), 256 * 12),
        Call::Capacity("rooms".into(), 256),
    ] {
        assert!(
            fake.position(&before).is_some_and(|i| i < ready),
            "{before:?}: {:?}",
            fake.calls()
        );
    }
    assert!(std::net::TcpStream::connect(addr).is_ok(), "listening when Ready");

    // Health while the loop ticks, none while it stalls (the network runtime runs on), then again.
    let ticking = Instant::now();
    while ticking.elapsed() < Duration::from_millis(2500) {
        app.update();
        std::thread::sleep(Duration::from_millis(20));
    }
    let stalled = Instant::now();
    assert!(fake.health_between(ticking, stalled) >= 2, "{:?}", fake.calls());
    std::thread::sleep(Duration::from_secs(3));
    let resumed = Instant::now();
    assert_eq!(
        fake.health_between(stalled + Duration::from_millis(200), resumed),
        0
    );
    fake.wait_for(
        "health again",
        || app.update(),
        |f| f.health_between(resumed, Instant::now()) > 0,
    );

    // Counters follow joins and leaves.
    let mut ann = Client::connect(addr, "Ann", None);
    let mut bob = Client::connect(addr, "Bob", Some("other"));
    fake.wait_for(
        "two players in two rooms",
        || {
            app.update();
            ann.step();
            bob.step();
        },
        |f| f.last_count("players") == Some(2) && f.last_count("rooms") == Some(2),
    );
    bob.leave();
    fake.wait_for(
        "one player",
        || {
            app.update();
            ann.step();
            bob.step();
        },
        |f| f.last_count("players") == Some(1),
    );

    // A stop drains (Ann is in no game: her room closes at once), then Shutdown.
    assert!(!fake.calls().contains(&Call::Shutdown));
    stop.request();
    let deadline = Instant::now() + Duration::from_secs(15);
    while app.should_exit().is_none() {
        assert!(Instant::now() < deadline, "still running after the stop");
        app.update();
        ann.step();
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(fake.calls().last(), Some(&Call::Shutdown), "{:?}", fake.calls());
    for _ in 0..50 {
        ann.step();
    }
    assert_eq!(ann.state(), ClientState::Disconnected);
}

#[cfg(unix)]
#[test]
fn a_server_process_stopped_with_sigterm_says_shutdown_after_its_drain() {
    let fake = Fake::default();
    let port = fake.serve();
    let port_text = port.to_string();
    let (mut child, _) = child_server("true", &[("AGONES_SDK_GRPC_PORT", &port_text)], "--agones");
    fake.wait_for("Ready", || {}, |f| f.position(&Call::Ready).is_some());
    // SAFETY: a signal to our own child process.
    assert_eq!(
        unsafe { libc::kill(child.0.id() as libc::pid_t, libc::SIGTERM) },
        0
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "still running after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    assert_eq!(fake.calls().last(), Some(&Call::Shutdown), "{:?}", fake.calls());
}
