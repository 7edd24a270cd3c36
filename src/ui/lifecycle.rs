//! Starting and ending a game session: the launch the command line asked for, joining (hosting
//! is `super::hosting`), and what the window says when the connection ends.

use std::sync::Mutex;

use bevy::prelude::*;

use super::Screen;
use super::{Launch, UiState};
#[cfg(not(target_arch = "wasm32"))]
use crate::app::ServerOptions;
use crate::cli::DEFAULT_PORT;
use crate::i18n::Describe;
use crate::plugins::net::FromServer;
use crate::plugins::net::with_default_port;
use crate::plugins::rooms::{JoinRequest, JoinServer, SessionEnded, Welcome};

#[cfg(not(target_arch = "wasm32"))]
#[derive(Resource)]
pub(super) struct HostOptions(pub(super) ServerOptions);

#[derive(Resource)]
pub(super) struct PendingLaunch(pub(super) Mutex<Option<Launch>>);

pub(super) fn apply_launch(
    #[cfg(not(target_arch = "wasm32"))] mut commands: Commands,
    pending: Res<PendingLaunch>,
    mut state: ResMut<UiState>,
    mut next: ResMut<NextState<Screen>>,
    mut connect: MessageWriter<JoinServer>,
) {
    let Some(launch) = pending.0.lock().ok().and_then(|mut l| l.take()) else {
        return;
    };
    match launch {
        Launch::Menu | Launch::Invited { .. } => {}
        #[cfg(not(target_arch = "wasm32"))]
        Launch::Host { hosted, name } => {
            super::hosting::start_hosting(&mut commands, &mut state, &mut next, &mut connect, hosted, name);
        }
        Launch::Join {
            addr,
            name,
            room,
            spectate,
        } => {
            start_joining(&mut state, &mut next, &mut connect, &addr, name, (room, spectate));
        }
    }
}

pub(crate) fn join_request(
    name: String,
    room: Option<String>,
    host_token: Option<[u8; 16]>,
    spectate: bool,
) -> JoinRequest {
    JoinRequest {
        name,
        room,
        host_token,
        resume: None,
        spectate,
    }
}

pub(super) fn start_joining(
    state: &mut UiState,
    next: &mut NextState<Screen>,
    connect: &mut MessageWriter<JoinServer>,
    addr: &str,
    name: String,
    (room, spectate): (Option<String>, bool),
) {
    state.server_addr = with_default_port(addr, DEFAULT_PORT);
    state.reachable.clear();
    // A browser's page came from the server it joins; a window does not know.
    state.page_served = cfg!(target_arch = "wasm32");
    state.ended = None;
    state.joining = None;
    connect.write(JoinServer {
        addr: state.server_addr.clone(),
        join: join_request(name, room, None, spectate),
    });
    next.set(Screen::Joined);
}

/// The titles of the dialog a session's end shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ended {
    Removed,
    NotJoined,
    Disconnected,
}

impl Ended {
    /// The dialog's title.
    pub(crate) fn title(self) -> String {
        match self {
            Ended::Removed => crate::t!("ended-removed"),
            Ended::NotJoined => crate::t!("ended-not-joined"),
            Ended::Disconnected => crate::t!("ended-disconnected"),
        }
    }
}

pub(super) fn note_connection_end(mut ended: MessageReader<SessionEnded>, mut state: ResMut<UiState>) {
    if let Some(error) = ended.read().last() {
        eprintln!("game: {error}");
        let title = if error.was_kicked() {
            Ended::Removed
        } else if error.is_join_failure() {
            Ended::NotJoined
        } else {
            Ended::Disconnected
        };
        state.ended = Some((title, error.describe()));
        state.rename = error.name_refused().then(|| state.name.clone());
        state.rename_error = None;
    }
}

/// The launcher's server goes first among the recent ones once it let the player in: a server
/// that could not be reached, or refused the join, is not remembered.
pub(super) fn remember_joined(
    mut welcomes: MessageReader<FromServer<Welcome>>,
    mut state: ResMut<UiState>,
    mut memory: ResMut<super::memory::LauncherMemory>,
) {
    if welcomes.read().last().is_some()
        && let Some(server) = state.joining.take()
    {
        memory.remembered.joined(server);
        memory.save();
    }
}
