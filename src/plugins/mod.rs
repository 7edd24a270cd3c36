//! The game's plugins. The logic plugins are the same in the headless server, the windowed
//! game and the tests; only rendering and UI (`crate::ui`) differ.

pub mod canvas;
pub mod chat;
pub mod net;
pub mod quiz;
pub mod rooms;

use bevy::prelude::*;

/// What this process is doing.
#[derive(States, Default, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppMode {
    /// The launcher: host or join.
    #[default]
    Menu,
    /// Hosting: the headless server itself, or the window of the process that runs it.
    Server,
    /// Joined someone else's server.
    Client,
}

/// The order game systems run in within `Update`, after the network has received.
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum GameSystems {
    Rooms,
    Chat,
    Canvas,
    Quiz,
}

/// Everything but rendering and UI. The app builder sets the initial [`AppMode`].
pub fn logic(app: &mut App) {
    app.configure_sets(
        Update,
        (
            GameSystems::Rooms,
            GameSystems::Chat,
            GameSystems::Canvas,
            GameSystems::Quiz,
        )
            .chain(),
    )
    .add_plugins((
        net::plugin,
        rooms::plugin,
        chat::plugin,
        canvas::plugin,
        quiz::plugin,
    ));
}
