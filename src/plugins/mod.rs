//! The game's plugins. The logic plugins are the same in the headless server, the windowed
//! game and the tests; only rendering and UI (`crate::ui`) differ.

pub mod canvas;
pub mod chat;
pub mod net;
pub mod quiz;
pub mod rooms;
#[cfg(test)]
pub(crate) mod test_app;

use bevy::ecs::schedule::ScheduleLabel;
use bevy::prelude::*;

/// The order the logic plugins' systems run in within `Update`, after the network has
/// received: lower plugins first, then the higher ones that use them, then `Effects`, where
/// lower plugins carry out what higher ones asked of them this frame (a chat line to publish,
/// a pen to lock), so nothing waits a frame.
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum LogicSystems {
    Rooms,
    Chat,
    Canvas,
    Quiz,
    Effects,
}

/// Which half of the game an app runs. Every logic plugin registers both halves (their
/// messages, resources and wire types are the same on both sides), but each half's systems are
/// in its side's set and run only in an app of that side: a player's window runs no server
/// system, and a server no client system.
#[derive(Resource, SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Server,
    Client,
}

/// The server's logic: every plugin, its server half running.
pub fn server_logic(app: &mut App) {
    app.insert_resource(Side::Server).add_plugins(logic);
}

/// A player's logic: every plugin, its client half running.
pub fn client_logic(app: &mut App) {
    app.insert_resource(Side::Client).add_plugins(logic);
}

/// Everything but rendering and UI, both halves registered; which runs is the app's
/// [`Side`] (see [`server_logic`], [`client_logic`]).
pub fn logic(app: &mut App) {
    app.add_plugins((
        logic_sets,
        net::plugin,
        rooms::plugin,
        chat::plugin,
        canvas::plugin,
        quiz::plugin,
    ));
}

/// The order of the logic plugins' sets (for apps that add only some of the plugins), and
/// which side's systems run.
pub fn logic_sets(app: &mut App) {
    for schedule in [
        PreUpdate.intern(),
        Update.intern(),
        PostUpdate.intern(),
        Last.intern(),
    ] {
        app.configure_sets(
            schedule,
            (
                Side::Server.run_if(resource_exists_and_equals(Side::Server)),
                Side::Client.run_if(resource_exists_and_equals(Side::Client)),
            ),
        );
    }
    app.configure_sets(
        Update,
        (
            LogicSystems::Rooms,
            LogicSystems::Chat,
            LogicSystems::Canvas,
            LogicSystems::Quiz,
            LogicSystems::Effects,
        )
            .chain(),
    );
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::fmt::Write;

    use bevy::prelude::*;
    use bevy::state::app::StatesPlugin;

    use super::*;
    use crate::plugins::net::WireRegistry;

    /// Where each registered type's name, version and layout fingerprint is kept.
    const SNAPSHOT: &str = "src/plugins/wire_schema.txt";

    fn layouts() -> Vec<(String, u16, u64)> {
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, StatesPlugin)).add_plugins(logic);
        let registry = app.world().resource::<WireRegistry>();
        registry
            .to_server
            .iter()
            .map(|r| ('c', r.name, r.version, r.trace))
            .chain(
                registry
                    .to_client
                    .iter()
                    .map(|r| ('s', r.name, r.version, r.trace)),
            )
            .map(|(direction, name, version, trace)| {
                // Every container the type reaches, by name, in a stable order; traced again
                // while nested enums turn up with variants left to explore.
                let mut nested: Vec<String> = Vec::new();
                let formats: BTreeMap<_, _> = loop {
                    let mut tracer = serde_reflection::Tracer::new(serde_reflection::TracerConfig::default());
                    trace(&mut tracer, &nested).expect("traceable");
                    match tracer.registry() {
                        Ok(registry) => break registry.into_iter().collect(),
                        Err(serde_reflection::Error::MissingVariants(more)) => {
                            assert!(more.iter().any(|n| !nested.contains(n)), "{name}: {more:?}");
                            nested.extend(more);
                        }
                        Err(e) => panic!("{name}: {e}"),
                    }
                };
                let described = format!("{formats:?}");
                let hash = crate::plugins::net::wire::fingerprint(std::iter::once((
                    direction,
                    described.as_str(),
                    0,
                )));
                (format!("{direction} {name}"), version, hash)
            })
            .collect()
    }

    /// A type's layout changed without a version bump: two builds would both accept the
    /// other's handshake and misread each other's frames. Rewrite the snapshot with
    /// `UPDATE_WIRE_SCHEMA=1 cargo test --lib wire_schema` after bumping.
    #[test]
    fn wire_schema_changes_come_with_a_version_bump() {
        let actual = layouts();
        let mut text = String::from("# direction name version layout (written by the wire_schema test)\n");
        for (name, version, hash) in &actual {
            writeln!(text, "{name} {version} {hash:016x}").unwrap();
        }
        if std::env::var_os("UPDATE_WIRE_SCHEMA").is_some() {
            std::fs::write(SNAPSHOT, &text).unwrap();
            return;
        }
        let saved = std::fs::read_to_string(SNAPSHOT).expect("the snapshot exists");
        let saved: BTreeMap<String, (u16, String)> = saved
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let mut parts = l.rsplitn(3, ' ');
                let hash = parts.next()?.to_owned();
                let version = parts.next()?.parse().ok()?;
                Some((parts.next()?.to_owned(), (version, hash)))
            })
            .collect();
        for (name, version, hash) in &actual {
            let hash = format!("{hash:016x}");
            match saved.get(name) {
                Some((v, h)) if v == version && *h != hash => {
                    panic!("the layout of {name} changed: bump its WireMessage::VERSION (now {version})")
                }
                Some((v, h)) if v == version && *h == hash => {}
                _ => panic!(
                    "{name} v{version} is not in {SNAPSHOT}: run UPDATE_WIRE_SCHEMA=1 cargo test --lib wire_schema"
                ),
            }
        }
        assert_eq!(
            saved.len(),
            actual.len(),
            "{SNAPSHOT} lists types no longer registered"
        );
    }

    #[test]
    fn every_wire_name_is_registered_once() {
        let names: Vec<String> = layouts().into_iter().map(|(name, ..)| name).collect();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "{names:?}");
    }

    /// A join reaches an app of each side: the server admits it; a player's app, whose server
    /// systems do not run, does nothing with it. (Every app ran every server system.)
    #[test]
    fn only_the_servers_app_runs_the_server_half() {
        use crate::id::ClientId;
        use crate::plugins::net::{ClientConnected, FromClient, ToClients};
        use crate::plugins::rooms::{JoinRequest, RoomIndex, Welcome};
        let welcomed = |side: fn(&mut App)| {
            let mut app = App::new();
            app.add_plugins((MinimalPlugins, StatesPlugin)).add_plugins(side);
            app.update();
            let client = ClientId(1);
            app.world_mut().write_message(ClientConnected {
                client,
                addr: ([127, 0, 0, 1], 40001).into(),
            });
            app.world_mut().write_message(FromClient {
                client,
                msg: JoinRequest {
                    name: "Ann".into(),
                    room: None,
                    host_token: None,
                    resume: None,
                    spectate: false,
                },
            });
            app.update();
            let welcomes = app.world().resource::<Messages<ToClients<Welcome>>>();
            let rooms = app.world().resource::<RoomIndex>().player(client).is_some();
            (welcomes.iter_current_update_messages().count(), rooms)
        };
        assert_eq!(welcomed(server_logic), (1, true));
        assert_eq!(welcomed(client_logic), (0, false));
    }
}
