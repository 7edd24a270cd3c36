//! The network layer alone, with message types of the test's own: registering a type is all
//! a plugin does to send it, both ways, over real loopback sockets; builds that registered
//! differently refuse each other.

use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy::state::app::StatesPlugin;
use catchmind::id::ClientId;
use catchmind::plugins::net::{
    self, ClientState, CloseReason, ConnectRequested, ConnectionEnded, ConnectionError, FromClient,
    FromServer, NetApp, NetConfig, NetServer, Refusal, ToClients, ToServer, WireMessage, WireRegistry,
};
use serde::{Deserialize, Serialize};

/// A test-only message kind: what a plugin adds is the type, this impl and one line of
/// registration.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
struct Shout(String);

impl WireMessage for Shout {
    const NAME: &'static str = "test.shout";
    const VERSION: u16 = 1;
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
struct Echo {
    to: ClientId,
    text: String,
}

impl WireMessage for Echo {
    const NAME: &'static str = "test.echo";
    const VERSION: u16 = 1;
}

/// The "plugin" of this test: it registers its wire types.
fn shouting(app: &mut App) {
    app.add_client_message::<Shout>().add_server_message::<Echo>();
}

fn base_app() -> App {
    let mut app = App::new();
    app.add_plugins((MinimalPlugins, StatesPlugin))
        .add_plugins(net::plugin);
    app
}

/// A server app: every shout is echoed to its sender.
fn server_app(register: fn(&mut App)) -> (App, std::net::SocketAddr) {
    let mut app = base_app();
    register(&mut app);
    app.add_systems(
        Update,
        |mut shouts: MessageReader<FromClient<Shout>>, mut out: MessageWriter<ToClients<Echo>>| {
            for FromClient { client, msg } in shouts.read() {
                let echo = Echo {
                    to: *client,
                    text: msg.0.to_uppercase(),
                };
                out.write(ToClients::one(*client, echo));
            }
        },
    );
    let listener = NetServer::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = NetServer::start(
        listener,
        NetConfig::default(),
        app.world().resource::<WireRegistry>(),
        None,
    )
    .unwrap();
    app.insert_resource(server);
    (app, addr)
}

fn client_app(register: fn(&mut App), addr: std::net::SocketAddr) -> App {
    let mut app = base_app();
    register(&mut app);
    app.world_mut().write_message(ConnectRequested {
        addr: addr.to_string(),
    });
    app
}

fn step_until(apps: &mut [&mut App], what: &str, mut done: impl FnMut(&mut [&mut App]) -> bool) {
    let start = Instant::now();
    while !done(apps) {
        for app in apps.iter_mut() {
            app.update();
        }
        assert!(start.elapsed() < Duration::from_secs(10), "timed out: {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn collected<T: Message + Clone>(app: &mut App) -> Vec<T> {
    let messages = app.world().resource::<Messages<T>>();
    messages.iter_current_update_messages().cloned().collect()
}

#[test]
fn a_registered_type_travels_both_ways_with_no_game_in_the_app() {
    let (mut server, addr) = server_app(shouting);
    let mut client = client_app(shouting, addr);
    step_until(&mut [&mut server, &mut client], "connected", |apps| {
        *apps[1].world().resource::<State<ClientState>>().get() == ClientState::Connected
    });
    client
        .world_mut()
        .write_message(ToServer(Shout("안녕 hello".into())));
    let mut echoes = Vec::new();
    step_until(&mut [&mut server, &mut client], "the echo", |apps| {
        echoes.extend(collected::<FromServer<Echo>>(apps[1]));
        !echoes.is_empty()
    });
    assert_eq!(echoes[0].0.text, "안녕 HELLO");
    let registry = server.world().resource::<WireRegistry>();
    assert_eq!(
        registry.types(),
        [('c', "test.shout", 1), ('s', "test.echo", 1)],
        "the layer knows only what was registered"
    );
}

#[test]
fn builds_that_registered_differently_refuse_each_other() {
    fn more(app: &mut App) {
        shouting(app);
        app.add_server_message::<Shout>();
    }
    let (mut server, addr) = server_app(shouting);
    let mut client = client_app(more, addr);
    let mut ended = Vec::new();
    step_until(&mut [&mut server, &mut client], "the refusal", |apps| {
        ended.extend(collected::<ConnectionEnded>(apps[1]));
        !ended.is_empty()
    });
    match &ended[0].0 {
        ConnectionError::ClosedByServer(CloseReason::Refused(Refusal::BuildMismatch {
            server,
            client,
            server_build,
        })) => {
            assert_eq!(server, client, "same protocol, other messages");
            assert_eq!(server_build, catchmind::version::BUILD);
        }
        other => panic!("expected a version mismatch, got {other}"),
    }
    assert!(ended[0].0.is_connect_failure());
}
